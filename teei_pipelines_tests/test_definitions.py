"""The code location loads and validates the way `dagster` itself will load it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

REPO_ROOT = Path(__file__).resolve().parent.parent


def test_dagster_definitions_validate_passes(tmp_path):
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    result = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All code locations passed validation" in result.stdout + result.stderr


def test_resources_are_bound_and_secrets_are_env_vars():
    from teei_pipelines.definitions import defs

    resources = defs.resources
    assert {"postgres", "clickhouse", "nats"} <= set(resources)
    assert isinstance(resources["postgres"].dsn, dg.EnvVar)
    assert resources["postgres"].dsn.env_var_name == "DATABASE_URL"


def test_production_instance_config_parses_and_reads_secrets_from_env():
    import yaml

    config = yaml.safe_load((REPO_ROOT / "dagster.yaml").read_text())
    db = config["storage"]["postgres"]["postgres_db"]
    assert all(isinstance(db[key], dict) and "env" in db[key] for key in ("username", "password", "hostname"))
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
    assert config["run_retries"]["enabled"] is True
    assert "pools" in config["concurrency"]


# Assets without a freshness policy, and why: they run on events, not on a clock (or not at all by default).
NO_FRESHNESS = {
    "q2q/evidence": "runs when feedback arrives (q2q_evidence_sensor, NATS events)",
    "synthetics/probes": "STOPPED unless SYNTHETICS_ENABLED=true; then it gets one",
}
# Assets without a check of their own, and why.
NO_CHECK = {"analytics/synced_event": "writes an event to the outbox, not a table (its windows are checked upstream)"}


def test_every_asset_reads_well_in_the_catalog_and_is_operated_the_same_way():
    """Description, owners, a group, kinds, a RetryPolicy and a pool on every asset that does I/O (all of ours),
    a FreshnessPolicy matching its cadence, and at least one asset check on every table writer."""
    from teei_pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    checked = {key.asset_key.to_user_string() for key in graph.asset_check_keys}
    problems = []
    for assets_def in defs.resolve_all_asset_specs():
        name = assets_def.key.to_user_string()
        if assets_def.group_name == "sources":
            continue
        node = graph.get(assets_def.key)
        if not assets_def.description or len(assets_def.description) < 40:
            problems.append(f"{name}: no real description")
        if not assets_def.owners:
            problems.append(f"{name}: no owners")
        if not assets_def.kinds:
            problems.append(f"{name}: no kinds")
        if node.freshness_policy is None and name not in NO_FRESHNESS:
            problems.append(f"{name}: no freshness policy")
        if name not in checked and name not in NO_CHECK:
            problems.append(f"{name}: no asset check")
        if not node.pools:
            problems.append(f"{name}: no concurrency pool")
    for assets_def in graph.assets_defs:
        if not (assets_def.keys and assets_def.is_executable):
            continue
        names = [k.to_user_string() for k in assets_def.keys]
        if assets_def.op.retry_policy is None:
            problems.append(f"{names}: no RetryPolicy")
        for spec in assets_def.specs:
            if "dagster/code_references" not in spec.metadata:
                problems.append(f"{spec.key.to_user_string()}: no code reference")
    assert problems == []
