"""Synthetic monitoring assets (q2q-synthetics.md §7-§10): `synthetics/probes` (the eight tenant monitors × every
tenant) and `synthetics/fast_probes` (connectors, the trust center, our own stack). A probe failure never fails the
run; failing to store the results does. Each monitor type reports a `<monitor>_passing` check (red/green in the UI).
"""

import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import dagster as dg
import sqlalchemy as sa

from teei_pipelines.defs.common import IO_RETRY, freshness_every
from teei_pipelines.defs.synthetics import monitors
from teei_pipelines.defs.synthetics.store import record_outcomes, write_probes
from teei_pipelines.domain import monitors as rules
from teei_pipelines.domain.monitors import ProbeResult
from teei_pipelines.errors import ConfigError
from teei_pipelines.pgio import query
from teei_pipelines.resources.clickhouse import ClickHouseResource
from teei_pipelines.resources.nats import NatsResource
from teei_pipelines.resources.postgres import PostgresResource
from teei_pipelines.settings import env, env_int

PROBES = dg.AssetKey(["synthetics", "probes"])
FAST_PROBES = dg.AssetKey(["synthetics", "fast_probes"])
OWNERS = ["team:platform"]
MAX_PARALLEL_PROBES = 16


def synthetics_enabled() -> bool:
    return env("SYNTHETICS_ENABLED", "false").strip().lower() == "true"


def region() -> str:
    return env("SYNTHETICS_REGION", "local")


def connector_urls() -> dict[str, str]:
    return {
        name: env(f"{name.upper()}_CONNECTOR_URL", f"http://localhost:{port}")
        for name, port in rules.CONNECTOR_PORTS.items()
    }


def receiver_url() -> str:
    host = env("WEBHOOK_RECEIVER_HOST", "127.0.0.1")
    return env("WEBHOOK_RECEIVER_URL", f"http://{host}:{env_int('WEBHOOK_RECEIVER_PORT', 8090, minimum=1)}")


def tenants() -> list[rules.Tenant]:
    try:
        return rules.parse_tenants(env("SYNTHETIC_TENANTS", ""))
    except ValueError as exc:
        raise ConfigError("SYNTHETIC_TENANTS", str(exc)) from exc


def api_token() -> str:
    token = env("SYNTHETIC_API_TOKEN", "")
    if not token:
        raise ConfigError("SYNTHETIC_API_TOKEN", "is required for the tenant monitors and has no default")
    return token


def fast_monitor_types() -> tuple[str, ...]:
    return (rules.FAST_REMOTE_MONITORS if synthetics_enabled() else ()) + rules.SELF_MONITORS


def run_concurrently(probes: Sequence[Callable[[], ProbeResult]]) -> list[ProbeResult]:
    """Every probe at once (each with its own request timeouts), results in the order given."""
    with ThreadPoolExecutor(max_workers=max(1, min(MAX_PARALLEL_PROBES, len(probes)))) as pool:
        return list(pool.map(lambda probe: probe(), probes))


def check_specs(asset: dg.AssetKey, monitor_types: Sequence[str]) -> list[dg.AssetCheckSpec]:
    specs = [
        dg.AssetCheckSpec(
            "all_targets_probed",
            asset=asset,
            description="Exactly one stored synthetic_probes row for every expected (monitor, target) of the run.",
        ),
        dg.AssetCheckSpec(
            "no_open_critical_incident",
            asset=asset,
            description="No critical synthetic incident of these monitors is open (2 failures in a row, 1 for "
            "critical connectors and the trust center).",
        ),
    ]
    specs += [
        dg.AssetCheckSpec(
            f"{monitor_type}_passing",
            asset=asset,
            description=f"Every target of {monitor_type} passed its hard checks in the latest run.",
        )
        for monitor_type in monitor_types
    ]
    return specs


def summary_table(results: Sequence[ProbeResult]) -> str:
    lines = ["| monitor | target | ok | ms | within gates | error / warnings |", "|---|---|---|---|---|---|"]
    for r in results:
        note = r.error_message or ",".join(r.warnings) or ""
        lines.append(
            f"| {r.monitor_type} | {r.target} | {'✅' if r.success else '❌'} | {r.response_time_ms} | "
            f"{'yes' if r.within_performance_gate else 'no'} | {note.replace('|', '/')} |"
        )
    return "\n".join(lines)


def store_and_report(
    context: dg.AssetExecutionContext,
    asset: dg.AssetKey,
    monitor_types: Sequence[str],
    results: list[ProbeResult],
    started: float,
    postgres: PostgresResource,
    clickhouse: ClickHouseResource,
):
    """Write the rows, decide incidents, then yield the materialization and every declared check."""
    probed_at = datetime.now(UTC)
    write_probes(clickhouse, results, probed_at, region(), context.run.run_id)
    with postgres.begin() as connection:
        changes = record_outcomes(connection, clickhouse, results, probed_at, region())
        open_incidents = connection.execute(
            sa.text(query("synthetics/open_incidents")), {"monitor_types": list(monitor_types)}
        ).all()
    failures = [r for r in results if not r.success]
    metadata: dict[str, object] = {
        "probes": len(results),
        "failed": len(failures),
        "outside_gates": sum(1 for r in results if not r.within_performance_gate),
        "incidents_opened": sum(1 for c in changes if c.state == "opened"),
        "incidents_resolved": sum(1 for c in changes if c.state == "resolved"),
        "results": dg.MetadataValue.md(summary_table(results)),
        "duration_s": round(time.monotonic() - started, 3),
    }
    connectors = [r for r in results if r.monitor_type == "connectors_health"]
    if connectors:
        metadata["connectors"] = dg.MetadataValue.json(
            {
                "total": len(connectors),
                "healthy": sum(1 for r in connectors if r.success),
                "unhealthy": sum(1 for r in connectors if not r.success),
                "average_response_ms": round(sum(r.response_time_ms for r in connectors) / len(connectors), 1),
            }
        )
    yield dg.MaterializeResult(metadata=metadata)

    stored = Counter(
        {
            (m, t): n
            for m, t, n in clickhouse.client.query(
                query("synthetics/ch_run_counts"),
                parameters={"db": clickhouse.obs_database, "run_id": context.run.run_id},
            ).result_rows
        }
    )
    expected = Counter((r.monitor_type, r.target) for r in results)
    yield dg.AssetCheckResult(
        check_name="all_targets_probed",
        asset_key=asset,
        passed=stored == expected and all(n == 1 for n in expected.values()),
        metadata={"expected": len(expected), "stored": sum(stored.values())},
    )
    critical = [row for row in open_incidents if rules.severity_for(row.monitor_type, row.target_key) == "critical"]
    yield dg.AssetCheckResult(
        check_name="no_open_critical_incident",
        asset_key=asset,
        passed=not critical,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "open": dg.MetadataValue.json(
                [
                    {"monitor": r.monitor_type, "target": r.target_key, "since": str(r.open_incident_started_at)}
                    for r in critical
                ]
            )
        },
    )
    for monitor_type in monitor_types:
        mine = [r for r in results if r.monitor_type == monitor_type]
        failing = {r.target: r.error_message for r in mine if not r.success}
        yield dg.AssetCheckResult(
            check_name=f"{monitor_type}_passing",
            asset_key=asset,
            passed=bool(mine) and not failing,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"targets": len(mine), "failing": dg.MetadataValue.json(failing)},
        )


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            PROBES,
            description="The eight tenant monitors (login, dashboard, report generation, PDF and PPTX export, approval "
            "workflow, evidence explorer, boardroom deck) against every SYNTHETIC_TENANTS tenant → ClickHouse "
            "synthetic_probes; incidents after 2 consecutive failures.",
            group_name="synthetics",
            kinds={"clickhouse", "postgres"},
            owners=OWNERS,
            # only when the tenant monitors run at all (SYNTHETICS_ENABLED); every 5 minutes
            freshness_policy=freshness_every(5) if synthetics_enabled() else None,
        )
    ],
    check_specs=check_specs(PROBES, rules.TENANT_MONITORS),
    retry_policy=IO_RETRY,
    pool="clickhouse",
    name="synthetics__probes",
)
def probes(context: dg.AssetExecutionContext, postgres: PostgresResource, clickhouse: ClickHouseResource):
    started = time.monotonic()
    try:
        token, targets = api_token(), tenants()
    except ConfigError as exc:  # bad configuration fails the run at start; retrying cannot fix it
        raise dg.Failure(str(exc), allow_retries=False) from exc
    work = [
        (lambda m=monitor_type, t=tenant: monitors.probe_tenant(m, t, token))
        for tenant in targets
        for monitor_type in rules.TENANT_MONITORS
    ]
    results = run_concurrently(work)
    yield from store_and_report(context, PROBES, rules.TENANT_MONITORS, results, started, postgres, clickhouse)


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            FAST_PROBES,
            description="Every minute: our own stack (webhook receiver /health, PostgreSQL, NATS, ClickHouse) and, "
            "with SYNTHETICS_ENABLED, the six connectors' /health and the trust-center status page.",
            group_name="synthetics",
            kinds={"clickhouse", "postgres"},
            owners=OWNERS,
            freshness_policy=freshness_every(1),
        )
    ],
    check_specs=check_specs(FAST_PROBES, fast_monitor_types()),
    retry_policy=IO_RETRY,
    pool="clickhouse",
    name="synthetics__fast_probes",
)
def fast_probes(
    context: dg.AssetExecutionContext, postgres: PostgresResource, clickhouse: ClickHouseResource, nats: NatsResource
):
    started = time.monotonic()
    work: list[Callable[[], ProbeResult]] = [
        lambda: monitors.probe_receiver(receiver_url()),
        lambda: monitors.probe_callable("self_postgres", postgres.ping),
        lambda: monitors.probe_callable("self_nats", nats.ping),
        lambda: monitors.probe_callable("self_clickhouse", clickhouse.ping),
    ]
    if synthetics_enabled():
        work += [(lambda n=name, u=url: monitors.probe_connector(n, u)) for name, url in connector_urls().items()]
        trust_center = env("TRUST_CENTER_URL", "https://status.teei-platform.com/status.json")
        work.append(lambda: monitors.probe_trust_center(trust_center))
    results = run_concurrently(work)
    yield from store_and_report(context, FAST_PROBES, fast_monitor_types(), results, started, postgres, clickhouse)
