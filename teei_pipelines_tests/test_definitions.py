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
