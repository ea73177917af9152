"""The daily reconcile (analytics.md §1): re-check the previous day's 96 windows of every sync target and re-sync
each window whose PostgreSQL and ClickHouse counts differ (late commits, missed ticks, a failed run).

Re-synced windows are logged as materializations of their asset partitions, so the UI shows the repair.
"""

from datetime import UTC, date

import dagster as dg
from pydantic import Field

from teei_pipelines.defs.analytics import sync_io
from teei_pipelines.defs.analytics.assets import CLICKHOUSE_POOL, IO_RETRY, sync_block_rows
from teei_pipelines.defs.analytics.targets import CAMPAIGN_SNAPSHOTS, OUTCOME_SCORES, USER_EVENTS, VIS_SCORES
from teei_pipelines.defs.common import previous_utc_day
from teei_pipelines.domain import sync as rules
from teei_pipelines.resources.clickhouse import ClickHouseResource
from teei_pipelines.resources.postgres import PostgresResource
from teei_pipelines.settings import env_cron

ASSET_OF_TARGET = {
    OUTCOME_SCORES.table: (["analytics", "outcome_scores_ch"], OUTCOME_SCORES),
    USER_EVENTS.table: (["analytics", "user_events_ch"], USER_EVENTS),
    VIS_SCORES.table: (["analytics", "vis_scores_ch"], VIS_SCORES),
    CAMPAIGN_SNAPSHOTS.table: (["analytics", "campaign_metrics_ch"], CAMPAIGN_SNAPSHOTS),
}


class ReconcileConfig(dg.Config):
    day: str = Field(description="UTC day to reconcile, YYYY-MM-DD (the schedule passes yesterday)")


@dg.op(pool=CLICKHOUSE_POOL, retry_policy=IO_RETRY, tags={"teei/area": "analytics"})
def reconcile_day(
    context: dg.OpExecutionContext,
    config: ReconcileConfig,
    postgres: PostgresResource,
    clickhouse: ClickHouseResource,
) -> dict:
    try:
        day = date.fromisoformat(config.day)
    except ValueError as exc:
        raise dg.Failure(description=f"day: {config.day!r} is not YYYY-MM-DD", allow_retries=False) from exc
    start, end = rules.day_windows(day)
    summary: dict[str, dict[str, int]] = {}
    for table, (asset_path, target) in ASSET_OF_TARGET.items():
        before = sync_io.reconcile(postgres.engine, clickhouse, target, start, end)
        repaired = 0
        for window_start in before.mismatched["window_start"].to_list():
            window_start = window_start.astimezone(UTC)
            report = sync_io.sync_range(
                postgres.engine, clickhouse, target, window_start, window_start + rules.WINDOW, sync_block_rows()
            )
            sync_io.record_sync_status(clickhouse, report, context.run_id)
            context.log_event(
                dg.AssetMaterialization(
                    asset_key=asset_path,
                    partition=window_start.strftime("%Y-%m-%d-%H:%M"),
                    metadata={"rows_written": report.rows_written, "reason": "daily reconcile: counts differed"},
                )
            )
            repaired += 1
        after = sync_io.reconcile(postgres.engine, clickhouse, target, start, end) if repaired else before
        summary[table] = {
            "windows_mismatched": before.mismatched.height,
            "windows_resynced": repaired,
            "still_mismatched": after.mismatched.height,
            "duplicate_ids": after.duplicate_ids,
        }
    context.add_output_metadata({table: dg.MetadataValue.json(counts) for table, counts in summary.items()})
    failing = {
        table: counts for table, counts in summary.items() if counts["still_mismatched"] or counts["duplicate_ids"]
    }
    if failing:
        raise dg.Failure(
            description=f"{day}: windows still differ after re-sync: {failing}",
            metadata={"failing": dg.MetadataValue.json(failing)},
        )
    return summary


@dg.job(
    name="analytics_reconcile_job",
    description="Reconcile one UTC day of every sync target and re-sync the windows that differ.",
    tags={"teei/area": "analytics"},
)
def analytics_reconcile_job():
    reconcile_day()


@dg.schedule(
    name="analytics_reconcile_schedule",
    cron_schedule=env_cron("ANALYTICS_RECONCILE_CRON", "30 2 * * *"),
    execution_timezone="UTC",
    job=analytics_reconcile_job,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Reconciles the previous UTC day (ANALYTICS_RECONCILE_CRON, default 30 2 * * *).",
)
def analytics_reconcile_schedule(context: dg.ScheduleEvaluationContext):
    day = previous_utc_day(context).isoformat()
    return dg.RunRequest(run_key=day, run_config={"ops": {"reconcile_day": {"config": {"day": day}}}})
