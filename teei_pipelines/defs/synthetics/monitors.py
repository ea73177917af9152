"""The synthetic monitors' HTTP steps (q2q-synthetics.md §8, §9). Each monitor takes a Probe (one target, one
requests session, the wall clock of all its steps) and records hard failures, soft latency gates and quality
warnings on its ProbeResult. Nothing here is fabricated: a timing that was not measured stays NULL.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import requests

from teei_pipelines.domain import monitors as rules
from teei_pipelines.domain.monitors import ProbeResult, Tenant

USER_AGENT = "TEEI-SyntheticMonitor/1.0"
TRUST_CENTER_USER_AGENT = "TEEI-Synthetics/1.0"
REPORT_RANGE = {"start": "2025-01-01", "end": "2025-11-15"}


class StepFailed(Exception):
    """A hard failure of one step: the probe stops and records the message."""


@dataclass
class Step:
    response: requests.Response
    elapsed_ms: float

    def json(self, what: str) -> Any:
        try:
            return self.response.json()
        except ValueError as exc:
            raise StepFailed(f"{what}: response is not JSON") from exc

    def json_object(self, what: str) -> dict[str, Any]:
        body = self.json(what)
        if not isinstance(body, dict):
            raise StepFailed(f"{what}: expected a JSON object, got {type(body).__name__}")
        return body


class Probe:
    """One monitor against one target: timed HTTP steps on a session of its own."""

    def __init__(self, result: ProbeResult, base_url: str = "", token: str | None = None, user_agent: str = USER_AGENT):
        self.result = result
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self.session.headers.update({"User-Agent": user_agent, "X-Synthetic-Monitor": "true"})
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else f"{self.base_url}{path}"

    def call(
        self, name: str, method: str, path: str, timeout: float, expect: tuple[int, ...] = (200,), **kwargs: Any
    ) -> Step:
        started = time.perf_counter()
        try:
            response = self.session.request(method, self.url(path), timeout=timeout, **kwargs)
        except requests.Timeout as exc:
            raise StepFailed(f"{name}: timed out after {timeout:g} s") from exc
        except requests.RequestException as exc:
            raise StepFailed(f"{name}: connection error: {type(exc).__name__}") from exc
        elapsed = (time.perf_counter() - started) * 1000
        self.result.tags[f"step.{name}_ms"] = str(round(elapsed))
        self.result.status_code = response.status_code
        if response.status_code not in expect:
            raise StepFailed(f"{name}: HTTP {response.status_code}, expected {' or '.join(map(str, expect))}")
        return Step(response, elapsed)

    def close(self) -> None:
        self.session.close()


def run_probe(result: ProbeResult, probe: Probe, body: Callable[[Probe], None]) -> ProbeResult:
    """Run a monitor's steps; response_time_ms is the wall time of all of them, failed or not."""
    started = time.perf_counter()
    try:
        body(probe)
    except StepFailed as exc:
        result.fail(str(exc))
    finally:
        probe.close()
        result.response_time_ms = round((time.perf_counter() - started) * 1000)
    if result.warnings:
        result.tags["warnings"] = ",".join(result.warnings)
    return result


# --- tenant monitors ---------------------------------------------------------------------------------------------


def tenant_login(probe: Probe, tenant: Tenant) -> None:
    probe.result.performance_gate_ms = 2000
    probe.call("health", "GET", "/api/health", 5)
    probe.call("sso_metadata", "GET", tenant.sso_metadata_path, 5)
    login = probe.call("login_page", "GET", "/auth/login", 10)
    probe.result.gate("login_page", login.elapsed_ms, 2000)


def dashboard_load(probe: Probe, tenant: Tenant) -> None:
    result = probe.result
    result.performance_gate_ms = 2000
    started = time.perf_counter()
    try:
        response = probe.session.get(
            probe.url("/cockpit/dashboard"), timeout=10, headers={"Accept": "text/html"}, stream=True
        )
        ttfb_ms = response.elapsed.total_seconds() * 1000  # until the response headers arrived
        download_started = time.perf_counter()
        html = response.content
        download_ms = (time.perf_counter() - download_started) * 1000
    except requests.Timeout as exc:
        raise StepFailed("dashboard: timed out after 10 s") from exc
    except requests.RequestException as exc:
        raise StepFailed(f"dashboard: connection error: {type(exc).__name__}") from exc
    html_ms = (time.perf_counter() - started) * 1000
    result.status_code = response.status_code
    result.tags["step.dashboard_ms"] = str(round(html_ms))
    if response.status_code != 200:
        raise StepFailed(f"dashboard: HTTP {response.status_code}, expected 200")
    result.first_byte_ms = min(round(ttfb_ms), 65535)
    result.content_transfer_ms = min(round(download_ms), 65535)
    result.file_size_bytes = len(html)

    apis = {"metrics_summary": ("/api/metrics/summary", 1.5), "reports_recent": ("/api/reports/recent", 1.5)}
    apis["governance_status"] = ("/api/governance/status", 1.0)
    with ThreadPoolExecutor(max_workers=len(apis)) as pool:
        futures = {name: pool.submit(probe.call, name, "GET", path, timeout) for name, (path, timeout) in apis.items()}
        outcomes = {}
        for name, future in futures.items():
            try:
                outcomes[name] = future.result()
            except StepFailed as exc:
                outcomes[name] = exc
    failed = [str(outcome) for outcome in outcomes.values() if isinstance(outcome, StepFailed)]
    if failed:
        raise StepFailed("; ".join(failed))
    result.status_code = response.status_code
    try:
        sse = probe.call("stream_head", "HEAD", "/api/stream/metrics", 2)
        result.tags["sse"] = str(sse.response.status_code)
    except StepFailed:
        result.tags["sse"] = "-1"  # non-fatal by design
    slowest_api = max(outcome.elapsed_ms for outcome in outcomes.values())
    result.gate("ttfb", ttfb_ms, 500)
    result.gate("html_download", download_ms, 1000)
    result.gate("html_plus_api", html_ms + slowest_api, 2000)


def report_generation(probe: Probe, tenant: Tenant) -> None:
    result = probe.result
    step = probe.call(
        "generate",
        "POST",
        "/api/reports/generate",
        15,
        expect=(200, 201),
        json={"type": tenant.report_type, "dateRange": REPORT_RANGE},
    )
    body = step.json_object("generate")
    if not body.get("reportId") or body.get("content") in (None, "", {}):
        raise StepFailed("generate: reportId or content missing")
    cached = body.get("cached") is True
    result.performance_gate_ms = 2000 if cached else 10_000
    result.tags["cached"] = str(cached).lower()
    result.gate("total", step.elapsed_ms, result.performance_gate_ms)
    timings = body.get("timings") if isinstance(body.get("timings"), dict) else {}
    for name, budget in (("q2qProcessing", 3000), ("narrativeGeneration", 5000)):
        if isinstance(timings.get(name), int | float):
            result.gate(name, timings[name], budget)
    content = body["content"] if isinstance(body["content"], dict) else {}
    narrative = content.get("narrative", body.get("narrative"))
    evidence = content.get("evidence", body.get("evidence"))
    metadata = body.get("metadata") if isinstance(body.get("metadata"), dict) else content.get("metadata") or {}
    if not isinstance(narrative, str) or len(narrative.split()) < 50:
        result.warn("narrative_under_50_words")
    if not isinstance(evidence, list) or len(evidence) < 3:
        result.warn("evidence_under_3")
    score = metadata.get("confidenceScore") if isinstance(metadata, dict) else None
    if not isinstance(score, int | float) or score < 0.7:
        result.warn("confidence_under_0.7")


def _export(
    probe: Probe,
    tenant: Tenant,
    *,
    kind: str,
    request_body: dict,
    timeout: float,
    min_bytes: int,
    warn_bytes: int,
    gate_ms: int,
    magic_ok: Callable[[bytes], bool],
    magic_label: str,
    markers: tuple[tuple[bytes, ...], ...],
    scan_bytes: int,
) -> None:
    result = probe.result
    result.performance_gate_ms = gate_ms
    export = probe.call(
        "export",
        "POST",
        f"/api/reports/{tenant.export_report_id}/export/{kind}",
        timeout,
        expect=(200, 201),
        json=request_body,
    )
    body = export.json_object("export")
    url = body.get("downloadUrl") or body.get("url")
    if not isinstance(url, str) or not url:
        raise StepFailed("export: no downloadUrl or url in the response")
    download = probe.call("download", "GET", urljoin(f"{probe.base_url}/", url), 5)
    content = download.response.content
    result.file_size_bytes = len(content)
    result.content_hash = hashlib.sha256(content).hexdigest()
    if len(content) < min_bytes:
        raise StepFailed(f"download: {len(content)} bytes, below the {min_bytes} byte minimum")
    if not magic_ok(content[:8]):
        raise StepFailed(f"download: not a {magic_label} file (magic bytes {content[:5]!r})")
    result.gate("export_and_download", export.elapsed_ms + download.elapsed_ms, gate_ms)
    if len(content) > warn_bytes:
        result.warn("file_too_large")
    for label in rules.missing_markers(content[:scan_bytes], markers):
        result.warn(f"missing:{label}")


def export_pdf(probe: Probe, tenant: Tenant) -> None:
    _export(
        probe,
        tenant,
        kind="pdf",
        request_body={"includeWatermark": True, "includeEvidenceHash": True, "format": "a4"},
        timeout=10,
        min_bytes=1024,
        warn_bytes=10 * 1024 * 1024,
        gate_ms=2000,
        magic_ok=lambda head: head[:5] == b"%PDF-",
        magic_label="PDF",
        markers=rules.PDF_MARKERS,
        scan_bytes=10_000,
    )


def export_pptx(probe: Probe, tenant: Tenant) -> None:
    _export(
        probe,
        tenant,
        kind="pptx",
        request_body={
            "includeCharts": True,
            "includeEvidence": True,
            "includeNarrative": True,
            "template": "executive-pack",
        },
        timeout=15,
        min_bytes=10 * 1024,
        warn_bytes=20 * 1024 * 1024,
        gate_ms=3000,
        magic_ok=rules.is_zip_magic,
        magic_label="PPTX (ZIP)",
        markers=rules.PPTX_MARKERS,
        scan_bytes=50_000,
    )


def _expect_state(step: Step, what: str, state: str) -> dict[str, Any]:
    body = step.json_object(what)
    if body.get("state") != state:
        raise StepFailed(f"{what}: state {body.get('state')!r}, expected {state!r}")
    return body


def approval_workflow(probe: Probe, tenant: Tenant) -> None:
    result = probe.result
    result.performance_gate_ms = 2000
    report_id = None
    try:
        draft = probe.call("draft", "POST", "/api/reports/draft", 5, expect=(201,), json={"type": tenant.report_type})
        body = _expect_state(draft, "draft", "draft")
        report_id = body.get("id") or body.get("reportId")
        if not report_id:
            raise StepFailed("draft: no id in the response")
        base = f"/api/reports/{report_id}"
        review = probe.call(
            "submit_review",
            "POST",
            f"{base}/submit-review",
            5,
            json={"reviewers": ["reviewer-1@test.com"], "comment": "Synthetic review"},
        )
        _expect_state(review, "submit_review", "in_review")
        diff = probe.call("version_diff", "GET", f"{base}/version-diff", 3)
        approve = probe.call(
            "approve", "POST", f"{base}/approve", 5, json={"approved": True, "comment": "Synthetic approval"}
        )
        approved = _expect_state(approve, "approve", "approved")
        audit = probe.call("audit_trail", "GET", f"{base}/audit-trail", 2)
        result.gates(
            ("draft", draft.elapsed_ms, 1000),
            ("review", review.elapsed_ms, 2000),
            ("approve", approve.elapsed_ms, 2000),
            ("diff", diff.elapsed_ms, 1500),
        )
        diff_body = diff.json("version_diff")
        if not diff_body or (isinstance(diff_body, dict) and not diff_body.get("diff", diff_body)):
            result.warn("diff_missing")
        audit_body = audit.json("audit_trail")
        entries = audit_body if isinstance(audit_body, list) else (audit_body or {}).get("entries", [])
        if not isinstance(entries, list) or len(entries) < 3:
            result.warn("audit_trail_under_3")
        notifications = approved.get("notifications")
        if approved.get("notificationsQueued") is not True and not (isinstance(notifications, list) and notifications):
            result.warn("no_notifications_queued")
    finally:
        if report_id:  # always clean up, even after a failure; errors here are ignored
            try:
                cleanup = probe.session.delete(probe.url(f"/api/reports/{report_id}"), timeout=2)
                result.tags["cleanup"] = str(cleanup.status_code)
            except requests.RequestException:
                result.tags["cleanup"] = "error"


def _items(body: Any) -> list:
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        for key in ("items", "evidence", "results", "data"):
            if isinstance(body.get(key), list):
                return body[key]
    return []


def evidence_explorer(probe: Probe, tenant: Tenant) -> None:
    result = probe.result
    result.performance_gate_ms = 2000
    listing = probe.call(
        "list",
        "GET",
        "/api/evidence/list",
        5,
        params={"page": 1, "limit": 50, "sortBy": "timestamp", "sortOrder": "desc"},
    )
    body = listing.json("list")
    items = _items(body)
    if not items:
        raise StepFailed("list: no evidence items")
    lacking = [
        i
        for i, item in enumerate(items)
        if not isinstance(item, dict) or not all(item.get(k) for k in ("id", "type", "source"))
    ]
    if lacking:
        raise StepFailed(f"list: item {lacking[0]} lacks id, type or source")
    search = probe.call(
        "search",
        "GET",
        "/api/evidence/search",
        5,
        params={"query": "impact", "filters": json.dumps({"type": "quantitative"}), "limit": 20},
    )
    lineage = probe.call("lineage", "GET", f"/api/evidence/{items[0]['id']}/lineage", 3)
    page2 = probe.call(
        "page_2",
        "GET",
        "/api/evidence/list",
        3,
        params={"page": 2, "limit": 50, "sortBy": "timestamp", "sortOrder": "desc"},
    )
    result.gates(
        ("list", listing.elapsed_ms, 2000),
        ("search", search.elapsed_ms, 2000),
        ("lineage", lineage.elapsed_ms, 1500),
        ("page_2", page2.elapsed_ms, 1000),
    )
    lineage_items = _items(lineage.json("lineage"))
    if not lineage_items or not all(isinstance(i, dict) and i.get("id") and i.get("type") for i in lineage_items):
        result.warn("lineage_incomplete")
    if not items[0].get("metadata"):
        result.warn("first_item_without_metadata")
    total = body.get("total") if isinstance(body, dict) else None
    if not _items(page2.json("page_2")) and not (isinstance(total, int) and total <= 50):
        result.warn("page_2_empty")
    if not _items(search.json("search")):
        result.warn("search_empty")


def boardroom_deck(probe: Probe, tenant: Tenant) -> None:
    result = probe.result
    result.performance_gate_ms = 1500
    deck = probe.call("deck", "GET", f"/boardroom/{tenant.deck_id}", 10)
    try:
        deck_body = deck.response.json()
    except ValueError:
        deck_body = None
    company_id = deck_body.get("companyId") if isinstance(deck_body, dict) else None
    tiles_step = probe.call("tiles", "GET", f"/api/companies/{company_id or tenant.tenant_id}/boardroom/tiles", 5)
    tiles = tiles_step.json_object("tiles").get("tiles")
    if not isinstance(tiles, list):
        raise StepFailed("tiles: `tiles` is not an array")
    invalid = rules.invalid_tiles(tiles)
    if invalid:
        raise StepFailed(f"tiles: {len(invalid)} invalid tiles (first at index {invalid[0]})")
    result.tags["tiles"] = str(len(tiles))
    result.gate("total", deck.elapsed_ms + tiles_step.elapsed_ms, 1500)
    if not 4 <= len(tiles) <= 12:
        result.warn("tile_count_outside_4_12")


TENANT_MONITOR_STEPS: dict[str, Callable[[Probe, Tenant], None]] = {
    "tenant_login": tenant_login,
    "dashboard_load": dashboard_load,
    "report_generation": report_generation,
    "export_pdf": export_pdf,
    "export_pptx": export_pptx,
    "approval_workflow": approval_workflow,
    "evidence_explorer": evidence_explorer,
    "boardroom_deck": boardroom_deck,
}


def probe_tenant(monitor_type: str, tenant: Tenant, token: str) -> ProbeResult:
    result = ProbeResult(monitor_type, tenant.tenant_id)
    # tenant_login is the unauthenticated path a user takes: no token
    probe = Probe(result, tenant.base_url, None if monitor_type == "tenant_login" else token)
    return run_probe(result, probe, lambda p: TENANT_MONITOR_STEPS[monitor_type](p, tenant))


# --- connectors and the trust center -----------------------------------------------------------------------------

DEPENDENCIES = {"database": "database_healthy", "redis": "redis_healthy", "queue": "queue_healthy"}
DEPENDENCIES["externalAPI"] = "external_api_healthy"


def _dependency_status(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("status")
    return value if isinstance(value, str) else None


def probe_connector(name: str, url: str) -> ProbeResult:
    result = ProbeResult("connectors_health", name)
    result.performance_gate_ms = 5000
    health_row: dict[str, Any] = {"connector_name": name, "healthy": 0, "status_code": None}
    for column in DEPENDENCIES.values():
        health_row[column] = None

    def steps(probe: Probe) -> None:
        step = probe.call("health", "GET", f"{url.rstrip('/')}/health", 5)
        health_row["status_code"] = step.response.status_code
        body = step.json_object("health")
        dependencies = body.get("dependencies") or body.get("checks") or {}
        if isinstance(dependencies, dict):
            for key, column in DEPENDENCIES.items():
                status = _dependency_status(dependencies.get(key))
                if status is not None:
                    health_row[column] = int(status == "healthy")
                    if status != "healthy":
                        result.warn(f"{key}_{status}")
        health_row["version"] = body.get("version") if isinstance(body.get("version"), str) else None
        uptime = body.get("uptime", body.get("uptimeSeconds"))
        health_row["uptime_seconds"] = int(uptime) if isinstance(uptime, int | float) and uptime >= 0 else None
        if body.get("status") not in ("healthy", "ok"):
            raise StepFailed(f"health: status {body.get('status')!r}, expected 'healthy' or 'ok'")
        health_row["healthy"] = 1

    run_probe(result, Probe(result), steps)
    health_row["status_code"] = health_row["status_code"] or result.status_code
    health_row["response_time_ms"] = result.response_time_ms
    health_row["error_message"] = result.error_message
    result.connector_health = health_row
    return result


def probe_trust_center(url: str) -> ProbeResult:
    result = ProbeResult("trust_center_status", rules.TRUST_CENTER_TARGET)
    result.performance_gate_ms = 500

    def steps(probe: Probe) -> None:
        step = probe.call("status", "GET", url, 5)
        result.gate("response", step.elapsed_ms, 500)
        body = step.json_object("status")
        result.tags["system_status"] = rules.system_status(body)
        incidents = [i for i in body.get("incidents") or [] if isinstance(i, dict)]
        unresolved = [i for i in incidents if i.get("status") not in ("resolved", "postmortem")]
        maintenances = [
            m
            for m in body.get("scheduled_maintenances") or body.get("maintenances") or []
            if isinstance(m, dict) and m.get("status") in ("scheduled", "in_progress")
        ]
        components = [c for c in body.get("components") or [] if isinstance(c, dict)]
        result.tags["unresolved_incidents"] = str(len(unresolved))
        result.tags["maintenances"] = str(len(maintenances))
        result.components_count = len(components)
        result.components_failed = sum(1 for c in components if c.get("status") != "operational")

    return run_probe(result, Probe(result, user_agent=TRUST_CENTER_USER_AGENT), steps)


# --- our own stack -----------------------------------------------------------------------------------------------


def probe_callable(monitor_type: str, check: Callable[[], None]) -> ProbeResult:
    """A self-probe: `check` raises on failure; its wall time is the response time."""
    result = ProbeResult(monitor_type, rules.SELF_TARGET)
    started = time.perf_counter()
    try:
        check()
    except Exception as exc:  # any failure of our own stack is the probe's finding, never the run's
        result.fail(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": "))
    result.response_time_ms = round((time.perf_counter() - started) * 1000)
    return result


def probe_receiver(url: str) -> ProbeResult:
    result = ProbeResult("self_receiver", rules.SELF_TARGET)
    result.performance_gate_ms = 1000

    def steps(probe: Probe) -> None:
        step = probe.call("health", "GET", f"{url.rstrip('/')}/health", 5)
        result.gate("health", step.elapsed_ms, 1000)

    return run_probe(result, Probe(result), steps)
