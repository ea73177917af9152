"""Analytics assets (analytics.md): the 15-minute PostgreSQL → ClickHouse sync, companies, analytics.synced, FinOps.

Thin wrappers: row mappings live in `teei_pipelines.domain.sync`, the data movement in `sync_io`, SQL in
`sql/queries/analytics/`.
"""

import time
from datetime import UTC, datetime

import dagster as dg
import polars as pl

from teei_pipelines.defs.analytics import sync_io
from teei_pipelines.defs.analytics.targets import CAMPAIGN_SNAPSHOTS, OUTCOME_SCORES, USER_EVENTS, VIS_SCORES
from teei_pipelines.defs.common import (
    IO_RETRY,
    PROGRAM_ENROLLMENTS,
    daily_partitions,
    freshness_daily,
    freshness_every,
    source_table,
)
from teei_pipelines.domain import sync as rules
from teei_pipelines.domain.subjects import ANALYTICS_SYNCED
from teei_pipelines.outbox import relay_outbox, write_events
from teei_pipelines.pgio import query
from teei_pipelines.resources.clickhouse import ClickHouseResource
from teei_pipelines.resources.nats import NatsResource
from teei_pipelines.resources.postgres import PostgresResource
from teei_pipelines.settings import env_int, partition_start

OWNERS = ["team:data-platform"]
CLICKHOUSE_POOL = "clickhouse"  # chDB allows one writer per path; production keeps CH writes serialized too

SYNC_PARTITIONS = dg.TimeWindowPartitionsDefinition(
    cron_schedule="*/15 * * * *",
    start=datetime.combine(partition_start(), datetime.min.time()),
    fmt="%Y-%m-%d-%H:%M",
    timezone="UTC",
)
FINOPS_PARTITIONS = daily_partitions()

OUTCOME_SCORES_CH = dg.AssetKey(["analytics", "outcome_scores_ch"])
USER_EVENTS_CH = dg.AssetKey(["analytics", "user_events_ch"])
VIS_SCORES_CH = dg.AssetKey(["analytics", "vis_scores_ch"])
CAMPAIGN_METRICS_CH = dg.AssetKey(["analytics", "campaign_metrics_ch"])
COMPANIES_CH = dg.AssetKey(["analytics", "companies_ch"])
SYNCED_EVENT = dg.AssetKey(["analytics", "synced_event"])
COST_FACTS = dg.AssetKey(["analytics", "cost_facts"])
WINDOW_ASSETS = (OUTCOME_SCORES_CH, USER_EVENTS_CH, VIS_SCORES_CH, CAMPAIGN_METRICS_CH)

COMPANIES_SOURCE = source_table("companies", "companies in PostgreSQL, edited by the platform API.")
TELEMETRY_SOURCES = [
    dg.AssetSpec(
        key=["sources", name],
        description=f"{name} in ClickHouse, written by the platform's services (analytics.md §7).",
        group_name="sources",
        kinds={"clickhouse"},
    )
    for name in ("ai_token_telemetry", "compute_telemetry", "storage_telemetry", "export_telemetry", "egress_telemetry")
]


def sync_block_rows() -> int:
    """Rows per ClickHouse insert (SYNC_INSERT_BLOCK_ROWS)."""
    return env_int("SYNC_INSERT_BLOCK_ROWS", sync_io.INSERT_BLOCK_ROWS, minimum=1)


def window_sync_asset(key: dg.AssetKey, target: sync_io.SyncTarget, upstream: dg.AssetKey, description: str):
    """One ClickHouse table fed by 15-minute windows: replace the windows, record them, reconcile them."""
    check_name = f"{key.path[-1]}_reconciles"

    @dg.asset(
        key=key,
        description=description,
        partitions_def=SYNC_PARTITIONS,
        backfill_policy=dg.BackfillPolicy.single_run(),
        deps=[upstream],
        pool=CLICKHOUSE_POOL,
        retry_policy=IO_RETRY,
        freshness_policy=freshness_every(15),
        group_name="analytics",
        kinds={"postgres", "polars", "clickhouse"},
        owners=OWNERS,
        check_specs=[
            dg.AssetCheckSpec(
                check_name,
                asset=key,
                description=(
                    f"For every window of the run: PostgreSQL rows whose change column falls in it = {target.table} "
                    "rows after dedup whose newest version has that _window_start (FINAL semantics, via argMax), and "
                    f"no {target.identity} is stored under two sorting keys. A failure means rows arrived after the "
                    "sync: the daily reconcile re-syncs the window."
                ),
            )
        ],
    )
    def _asset(
        context: dg.AssetExecutionContext, postgres: PostgresResource, clickhouse: ClickHouseResource
    ) -> dg.MaterializeResult:
        window = context.partition_time_window
        start, end = window.start.astimezone(UTC), window.end.astimezone(UTC)
        report = sync_io.sync_range(postgres.engine, clickhouse, target, start, end, sync_block_rows())
        windows = sync_io.record_sync_status(clickhouse, report, context.run_id)
        reconciliation = sync_io.reconcile(postgres.engine, clickhouse, target, start, end)
        mismatched = reconciliation.mismatched.head(20)
        return dg.MaterializeResult(
            metadata={
                "window_start": start.isoformat(),
                "window_end": end.isoformat(),
                "windows": windows,
                "rows_read": report.rows_read,
                "rows_written": report.rows_written,
                "rows_replaced": report.rows_replaced,
                "arrow_batches": report.batches,
                "clickhouse_inserts": report.inserts,
                "duration_s": round(report.seconds, 3),
                "rows_per_s": round(report.rows_per_second),
            },
            check_results=[
                dg.AssetCheckResult(
                    check_name=check_name,
                    passed=reconciliation.passed,
                    severity=dg.AssetCheckSeverity.ERROR,
                    metadata={
                        "windows_checked": reconciliation.windows,
                        "windows_mismatched": reconciliation.mismatched.height,
                        "duplicate_ids": reconciliation.duplicate_ids,
                        "first_mismatches": dg.MetadataValue.md(_markdown(mismatched)),
                    },
                )
            ],
        )

    return _asset


def _markdown(frame: pl.DataFrame) -> str:
    if frame.height == 0:
        return "none"
    header = "| " + " | ".join(frame.columns) + " |\n|" + "---|" * len(frame.columns)
    return "\n".join([header, *("| " + " | ".join(str(value) for value in row) + " |" for row in frame.iter_rows())])


outcome_scores_ch = window_sync_asset(
    OUTCOME_SCORES_CH,
    OUTCOME_SCORES,
    dg.AssetKey(["q2q", "evidence"]),
    "outcome_scores → ClickHouse outcome_scores_ch by created_at window (insert-only rows; analytics.md §2).",
)
user_events_ch = window_sync_asset(
    USER_EVENTS_CH,
    USER_EVENTS,
    PROGRAM_ENROLLMENTS.key,
    (
        "program_enrollments → user_events_ch: an `enrolled` event in the enrolled_at window and a "
        "`program_completed` event (id uuid5(enrollment, 'completed')) in the completed_at window, however late."
    ),
)
vis_scores_ch = window_sync_asset(
    VIS_SCORES_CH,
    VIS_SCORES,
    dg.AssetKey(["impact", "vis_scores"]),
    "vis_scores → vis_scores_ch by calculated_at window; each recalculation lands as a newer _version.",
)
campaign_metrics_ch = window_sync_asset(
    CAMPAIGN_METRICS_CH,
    CAMPAIGN_SNAPSHOTS,
    dg.AssetKey(["campaigns", "metrics_snapshots"]),
    "campaign_metrics_snapshots → campaign_metrics_snapshots_ch by updated_at window; re-upserts replace.",
)


@dg.asset(
    key=COMPANIES_CH,
    freshness_policy=freshness_every(15),
    description=(
        "companies → companies_ch, a full refresh every sync: this run's rows get a new _version and older "
        "versions are deleted, so ClickHouse mirrors PostgreSQL including deletes (analytics.md §5)."
    ),
    deps=[COMPANIES_SOURCE.key],
    pool=CLICKHOUSE_POOL,
    retry_policy=IO_RETRY,
    group_name="analytics",
    kinds={"postgres", "polars", "clickhouse"},
    owners=OWNERS,
    check_specs=[
        dg.AssetCheckSpec(
            "companies_ch_reconciles",
            asset=COMPANIES_CH,
            description="PostgreSQL companies count = companies_ch FINAL count after the refresh.",
        )
    ],
)
def companies_ch(
    context: dg.AssetExecutionContext, postgres: PostgresResource, clickhouse: ClickHouseResource
) -> dg.MaterializeResult:
    started = time.perf_counter()
    report = sync_io.sync_companies(postgres.engine, clickhouse, rules.version_of(datetime.now(UTC)))
    return dg.MaterializeResult(
        metadata={"rows": report.rows, "duration_s": round(time.perf_counter() - started, 3)},
        check_results=[
            dg.AssetCheckResult(
                check_name="companies_ch_reconciles",
                passed=report.pg_count == report.ch_count,
                severity=dg.AssetCheckSeverity.ERROR,
                metadata={"postgres_rows": report.pg_count, "clickhouse_rows": report.ch_count},
            )
        ],
    )


SYNCED_COUNT_KEYS = {
    "outcome_scores_ch": "outcomeScores",
    "user_events_ch": "userEvents",
    "vis_scores_ch": "visScores",
    "campaign_metrics_snapshots_ch": "campaignSnapshots",
}


@dg.asset(
    key=SYNCED_EVENT,
    freshness_policy=freshness_every(15),
    description=(
        "analytics.synced for each synced window (analytics.md §4): an event_outbox row with Nats-Msg-Id "
        "analytics.synced:<window start> and the rows written per table, relayed to JetStream."
    ),
    partitions_def=SYNC_PARTITIONS,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=list(WINDOW_ASSETS),
    pool=CLICKHOUSE_POOL,  # it reads sync_status; with chDB only one process may open the path at a time
    retry_policy=IO_RETRY,
    group_name="analytics",
    kinds={"postgres", "nats"},
    owners=OWNERS,
)
def synced_event(
    context: dg.AssetExecutionContext,
    postgres: PostgresResource,
    clickhouse: ClickHouseResource,
    nats: NatsResource,
) -> dg.MaterializeResult:
    window = context.partition_time_window
    start, end = window.start.astimezone(UTC), window.end.astimezone(UTC)
    counts = clickhouse.client.query(
        query("analytics/ch_sync_status_windows"), parameters={"db": clickhouse.database, "start": start, "end": end}
    ).result_rows
    companies = int(
        clickhouse.client.query(
            query("analytics/ch_companies_count"), parameters={"db": clickhouse.database}
        ).result_rows[0][0]
    )
    run_started = _run_start(context)
    duration_ms = round((time.time() - run_started) * 1000) if run_started else 0
    per_window: dict[datetime, dict[str, int]] = {}
    for window_start, table, rows in counts:
        per_window.setdefault(window_start.replace(tzinfo=UTC), {})[SYNCED_COUNT_KEYS.get(table, table)] = int(rows)
    now = datetime.now(UTC).isoformat()
    events = [
        (
            f"{ANALYTICS_SYNCED}:{window_start.isoformat()}",
            {
                "timestamp": now,
                "windowStart": window_start.isoformat(),
                "windowEnd": (window_start + rules.WINDOW).isoformat(),
                **{name: 0 for name in SYNCED_COUNT_KEYS.values()},
                **tables,
                "companies": companies,
                "duration": duration_ms,
            },
        )
        for window_start, tables in sorted(per_window.items())
    ]
    with postgres.begin() as connection:
        write_events(connection, ANALYTICS_SYNCED, events)
    relay = relay_outbox(postgres.engine, nats, limit=max(500, len(events)))
    return dg.MaterializeResult(
        metadata={
            "events": len(events),
            "relayed": relay.published,
            "relay_error": relay.error or "none",
        }
    )


def _run_start(context: dg.AssetExecutionContext) -> float | None:
    stats = context.instance.get_run_stats(context.run_id)
    return stats.start_time


# FinOps (analytics.md §6) ------------------------------------------------------------------------------------------

FINOPS_INSERTS = ("finops_ai", "finops_compute", "finops_storage", "finops_export", "finops_egress")
CATEGORIES = ("AI", "COMPUTE", "STORAGE", "EXPORT", "EGRESS")


@dg.asset(
    key=COST_FACTS,
    description=(
        "cost_facts for one UTC day: the day's rows are deleted, then the five telemetry aggregations insert "
        "one row per (tenant, day, category, subcategory, region, service) with JSON metadata (analytics.md §6)."
    ),
    partitions_def=FINOPS_PARTITIONS,
    backfill_policy=dg.BackfillPolicy.multi_run(1),
    deps=[spec.key for spec in TELEMETRY_SOURCES],
    pool=CLICKHOUSE_POOL,
    retry_policy=IO_RETRY,
    freshness_policy=freshness_daily(),
    group_name="analytics",
    kinds={"clickhouse"},
    owners=OWNERS,
    check_specs=[
        dg.AssetCheckSpec(
            "cost_facts_unique_key",
            asset=COST_FACTS,
            description=(
                "No (tenant, category, subcategory, region, service) appears twice for the day without FINAL: "
                "a replaced partition left no old rows behind and distinct rows never collapsed."
            ),
        )
    ],
)
def cost_facts(context: dg.AssetExecutionContext, clickhouse: ClickHouseResource) -> dg.MaterializeResult:
    day = context.partition_time_window.start.date()
    summary = aggregate_cost_day(clickhouse, day)
    duplicates = int(
        clickhouse.client.query(
            query("analytics/finops_duplicate_keys"), parameters={"db": clickhouse.database, "day": day}
        ).result_rows[0][0]
    )
    total = sum(row["records_aggregated"] for row in summary.values())
    return dg.MaterializeResult(
        metadata={
            "day": day.isoformat(),
            "rows": total,
            **{f"{category.lower()}_records": summary[category]["records_aggregated"] for category in CATEGORIES},
            **{f"{category.lower()}_amount_usd": summary[category]["amount_total"] for category in CATEGORIES},
        },
        check_results=[
            dg.AssetCheckResult(
                check_name="cost_facts_unique_key",
                passed=duplicates == 0,
                metadata={"duplicate_keys": duplicates},
            )
        ],
    )


def aggregate_cost_day(clickhouse: ClickHouseResource, day) -> dict[str, dict[str, float]]:
    """Replace cost_facts for `day`; returns recordsAggregated and amount_total per category."""
    start, end = rules.day_windows(day)
    params = {"db": clickhouse.database, "day": day, "start": start, "end": end}
    client = clickhouse.client
    client.command(query("analytics/finops_delete_day"), parameters=params)
    for name in FINOPS_INSERTS:
        client.command(query(f"analytics/{name}"), parameters=params)
    rows = client.query(query("analytics/finops_day_summary"), parameters=params).result_rows
    summary = {category: {"records_aggregated": 0, "amount_total": 0.0} for category in CATEGORIES}
    for category, records, amount in rows:
        summary[category] = {"records_aggregated": int(records), "amount_total": float(amount)}
    total = sum(int(item["records_aggregated"]) for item in summary.values())
    client.command(query("analytics/finops_status_insert"), parameters={**params, "records": total})
    return summary
