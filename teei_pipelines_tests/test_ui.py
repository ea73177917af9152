"""The Dagster UI in a real browser (Debian's chromium + chromedriver, headless) against `teei-pipelines dev`:
the global lineage shows sources → VIS / campaigns → analytics, a materialization launched from an asset page
succeeds, and a 3-partition VIS backfill launched from the UI completes. Screenshots go to docs/screenshots/.
Skipped when chromium or chromedriver is missing; `.ci/run` installs both, so CI always runs it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from teei_pipelines.devstack import free_port

from .conftest import REPO_ROOT, wait_for_line, wait_until

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="chromium and chromedriver are not installed")
SHOTS = REPO_ROOT / "docs" / "screenshots"
LINEAGE_SELECTION = '3+key:"analytics/vis_scores_ch" or 4+key:"analytics/campaign_metrics_ch"'


@pytest.fixture(scope="module")
def dagster_ui(service_root):
    root = Path(tempfile.mkdtemp(prefix="ui-stack-", dir=service_root))
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "teei_pipelines.cli",
            "dev",
            "--root",
            str(root),
            "--port",
            str(port),
            "--receiver-port",
            str(free_port()),
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        wait_for_line(process, "stack started in", 300)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=120)


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-dev-shm-usage",
        "--window-size=1800,1100",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(20)
    yield driver
    driver.quit()


def graphql(base_url: str, query: str) -> dict:
    request = urllib.request.Request(
        f"{base_url}/graphql", data=json.dumps({"query": query}).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["data"]


def open_page(browser, url: str) -> None:
    from selenium.webdriver.common.by import By

    browser.get(url)
    time.sleep(3)
    browser.implicitly_wait(0)
    for button in browser.find_elements(By.XPATH, "//button[normalize-space()='Skip']"):  # the community prompt
        button.click()
    browser.implicitly_wait(20)


def test_lineage_materialization_and_backfill_from_the_ui(dagster_ui, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    SHOTS.mkdir(parents=True, exist_ok=True)

    # 1. Lineage: the upstream graph of two warehouse tables, every group expanded.
    open_page(browser, f"{dagster_ui}/asset-groups~{urllib.parse.quote(LINEAGE_SELECTION, safe='')}/")
    wait_until(lambda: browser.find_elements(By.CSS_SELECTOR, "foreignObject.group"), 120, "the lineage graph")
    groups = set(
        browser.execute_script(
            "return Array.from(document.querySelectorAll('foreignObject.group [data-tooltip]'))"
            ".map(e => e.getAttribute('data-tooltip'))"
        )
    )
    assert {"sources", "impact", "campaigns", "analytics"} <= groups, groups
    edges = browser.execute_script("return document.querySelectorAll('svg path').length")
    assert edges >= 4, edges  # sources → impact, sources → campaigns, impact → analytics, campaigns → analytics
    browser.save_screenshot(str(SHOTS / "lineage.png"))

    # 1b. The asset-level lineage of one warehouse table, three layers upstream: every asset of the VIS chain.
    open_page(browser, f"{dagster_ui}/assets/analytics/vis_scores_ch?view=lineage&lineageScope=upstream&lineageDepth=3")

    def chain_shown():
        text = browser.find_element(By.TAG_NAME, "body").text
        return all(name in text for name in ("buddy_events", "vis_scores_daily", "vis_scores_ch"))

    wait_until(chain_shown, 120, "the upstream lineage of analytics/vis_scores_ch")
    assert browser.execute_script("return document.querySelectorAll('svg path').length") >= 3
    browser.save_screenshot(str(SHOTS / "lineage_vis_scores_ch.png"))
    # the edges the graph draws, as the UI's own API reports them
    nodes = graphql(dagster_ui, "{ assetNodes { assetKey { path } dependencyKeys { path } } }")["assetNodes"]
    upstream = {"/".join(n["assetKey"]["path"]): {"/".join(k["path"]) for k in n["dependencyKeys"]} for n in nodes}
    assert "sources/buddy_events" in upstream["impact/vis_scores_daily"]
    assert "impact/vis_scores" in upstream["analytics/vis_scores_ch"]
    assert "campaigns/metrics_snapshots" in upstream["analytics/campaign_metrics_ch"]

    # 2. Materialize one asset from its page.
    clicked_at = datetime.now(UTC).timestamp()
    open_page(browser, f"{dagster_ui}/assets/profiles/completeness")
    browser.find_element(By.XPATH, "//button[starts-with(normalize-space(), 'Materialize')]").click()

    def completeness_materialized():
        asset = graphql(
            dagster_ui,
            '{ assetOrError(assetKey: {path: ["profiles", "completeness"]}) { ... on Asset { '
            "assetMaterializations(limit: 1) { runId timestamp } } } }",
        )["assetOrError"]
        found = asset.get("assetMaterializations") or []
        return found and float(found[0]["timestamp"]) / 1000 >= clicked_at - 5 and found[0]

    materialization = wait_until(completeness_materialized, 300, "profiles/completeness to be materialized")
    open_page(browser, f"{dagster_ui}/runs/{materialization['runId']}")
    wait_until(lambda: "Success" in browser.page_source, 60, "the run page to show Success")
    browser.save_screenshot(str(SHOTS / "materialization.png"))

    # 3. Backfill three VIS partitions from the asset's launch dialog.
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    days = [yesterday - timedelta(days=offset) for offset in (9, 8, 7)]
    open_page(browser, f"{dagster_ui}/assets/impact/vis_scores_daily")
    browser.find_element(By.XPATH, "//button[starts-with(normalize-space(), 'Materialize')]").click()
    selection = browser.find_element(By.CSS_SELECTOR, "[role=dialog] input[placeholder]")
    selection.click()
    selection.send_keys(f"[{days[0]}...{days[-1]}]", Keys.ENTER)
    wait_until(
        lambda: "3 partitions" in browser.find_element(By.CSS_SELECTOR, "[role=dialog]").text, 30, "3 partitions"
    )
    browser.find_element(By.XPATH, "//div[@role='dialog']//button[normalize-space()='Launch backfill']").click()
    link = wait_until(
        lambda: browser.execute_script(
            "return Array.from(document.querySelectorAll('a')).map(a => a.getAttribute('href'))"
            ".find(h => h && h.startsWith('/runs/b/'))"
        ),
        60,
        "the backfill link",
    )
    backfill_id = link.rstrip("/").split("/")[-1]

    def backfill_status():
        found = graphql(
            dagster_ui,
            f'{{ partitionBackfillOrError(backfillId: "{backfill_id}") {{ ... on PartitionBackfill {{ status '
            "partitionNames } } }",
        )["partitionBackfillOrError"]
        return found if found["status"] in ("COMPLETED", "COMPLETED_SUCCESS", "FAILED", "COMPLETED_FAILED") else None

    status = wait_until(backfill_status, 600, "the backfill to finish", interval_s=5)
    assert status["status"] in ("COMPLETED", "COMPLETED_SUCCESS"), status
    assert status["partitionNames"] == [day.isoformat() for day in days]
    materialized = graphql(
        dagster_ui,
        '{ assetOrError(assetKey: {path: ["impact", "vis_scores_daily"]}) { ... on Asset { '
        f"assetMaterializations(partitions: {json.dumps([d.isoformat() for d in days])}) {{ partition }} }} }} }}",
    )["assetOrError"]["assetMaterializations"]
    assert {m["partition"] for m in materialized} == {day.isoformat() for day in days}
    open_page(browser, f"{dagster_ui}{link}")
    time.sleep(5)
    browser.save_screenshot(str(SHOTS / "backfill.png"))
    page = browser.find_element(By.TAG_NAME, "body").text
    assert backfill_id in page and all(day.isoformat() in page for day in (days[0], days[-1])), page[:2000]
