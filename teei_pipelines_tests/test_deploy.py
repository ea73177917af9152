"""What can be validated of deploy/ without a cluster or a registry: the YAML parses, the Helm values use only
keys of Dagster's chart (the paths listed here, from the chart's documented values for 1.13), the image's build
check and entry point import the code location with production-shaped settings, and the receiver's command line
is one our CLI accepts."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import yaml

from teei_pipelines.cli import build_parser

from .conftest import REPO_ROOT

DEPLOY = REPO_ROOT / "deploy"

# Key paths of the official `dagster` chart's values (values.yaml / values.schema.json) that deploy/helm uses;
# list items are written as `[]`.
CHART_KEYS = {
    "global.postgresqlSecretName",
    "global.dagsterHome",
    "dagsterWebserver.replicaCount",
    "dagsterWebserver.resources",
    "dagster-user-deployments.enabled",
    "dagster-user-deployments.deployments[].name",
    "dagster-user-deployments.deployments[].image.repository",
    "dagster-user-deployments.deployments[].image.tag",
    "dagster-user-deployments.deployments[].image.pullPolicy",
    "dagster-user-deployments.deployments[].dagsterApiGrpcArgs",
    "dagster-user-deployments.deployments[].port",
    "dagster-user-deployments.deployments[].envSecrets",
    "dagster-user-deployments.deployments[].includeConfigInLaunchedRuns.enabled",
    "dagster-user-deployments.deployments[].resources",
    "runLauncher.type",
    "runLauncher.config.k8sRunLauncher.envSecrets",
    "runLauncher.config.k8sRunLauncher.runK8sConfig.containerConfig.resources",
    "postgresql.enabled",
    "postgresql.postgresqlHost",
    "postgresql.postgresqlUsername",
    "postgresql.postgresqlDatabase",
    "postgresql.service.port",
    "generatePostgresqlPasswordSecret",
    "dagsterDaemon.enabled",
    "dagsterDaemon.runCoordinator.enabled",
    "dagsterDaemon.runCoordinator.type",
    "dagsterDaemon.runCoordinator.config.queuedRunCoordinator.maxConcurrentRuns",
    "dagsterDaemon.runCoordinator.config.queuedRunCoordinator.tagConcurrencyLimits",
    "dagsterDaemon.runMonitoring.enabled",
    "dagsterDaemon.runMonitoring.startTimeoutSeconds",
    "dagsterDaemon.runMonitoring.maxRuntimeSeconds",
    "dagsterDaemon.runRetries.enabled",
    "dagsterDaemon.runRetries.maxRetries",
    "migrate.enabled",
}
# Values that are free-form maps in the chart (their inner keys are Kubernetes' or ours, not the chart's).
OPAQUE = ("resources", "envSecrets", "tagConcurrencyLimits", "dagsterApiGrpcArgs")


def key_paths(value, prefix: str = "") -> set[str]:
    if isinstance(value, dict):
        paths: set[str] = set()
        for key, inner in value.items():
            path = f"{prefix}.{key}" if prefix else key
            paths |= {path} if key in OPAQUE else key_paths(inner, path)
        return paths
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return set().union(*(key_paths(item, f"{prefix}[]") for item in value))
    return {prefix}


def test_helm_values_parse_and_use_only_chart_keys():
    values = yaml.safe_load((DEPLOY / "helm" / "values.yaml").read_text())
    assert key_paths(values) <= CHART_KEYS, key_paths(values) - CHART_KEYS
    deployment = values["dagster-user-deployments"]["deployments"][0]
    assert deployment["dagsterApiGrpcArgs"] == ["--module-name", "teei_pipelines.definitions"]
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    assert values["migrate"]["enabled"] is True


def test_receiver_manifest_runs_a_command_our_cli_accepts():
    documents = list(yaml.safe_load_all((DEPLOY / "helm" / "receiver.yaml").read_text()))
    assert [d["kind"] for d in documents] == ["Deployment", "Service"]
    container = documents[0]["spec"]["template"]["spec"]["containers"][0]
    command = container["command"]
    assert command[0] == "teei-pipelines"
    args = build_parser().parse_args(command[1:])
    assert (args.host, args.port) == ("0.0.0.0", 8090)
    assert container["readinessProbe"]["httpGet"]["path"] == "/health"


def test_the_image_entry_point_imports_the_code_location():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    module = re.search(r'"--module-name", "([\w.]+)"', dockerfile).group(1)
    check = re.search(r'python -c "import ([\w.]+)"', dockerfile).group(1)
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CLICKHOUSE_DSN", "NATS_URL"}}
    result = subprocess.run(
        [sys.executable, "-c", f"import {check}, {module}; print(' '.join({check}.JOBS))"],
        cwd=REPO_ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    jobs = result.stdout.split()
    assert {"vis_daily_job", "analytics_sync_job", "send_notifications", "synthetics_fast_job"} <= set(jobs)
    for path in re.findall(r"^COPY (\S+)", dockerfile, flags=re.MULTILINE):
        if path not in ("requirements.lock",):
            assert (REPO_ROOT / path).exists(), path
