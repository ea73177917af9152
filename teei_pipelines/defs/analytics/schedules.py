"""Analytics schedules and jobs (analytics.md §1, §5, §6)."""

from datetime import UTC, timedelta

import dagster as dg

from teei_pipelines.defs.analytics.assets import (
    COMPANIES_CH,
    COST_FACTS,
    FINOPS_PARTITIONS,
    SYNC_PARTITIONS,
    SYNCED_EVENT,
    WINDOW_ASSETS,
)
from teei_pipelines.defs.common import previous_day_request
from teei_pipelines.domain.sync import latest_complete_window
from teei_pipelines.settings import env_cron, env_int, partition_start

analytics_sync_job = dg.define_asset_job(
    "analytics_sync_job",
    selection=dg.AssetSelection.assets(*WINDOW_ASSETS, SYNCED_EVENT),
    partitions_def=SYNC_PARTITIONS,
    description=(
        "PostgreSQL → ClickHouse for one 15-minute window, or a range of windows in one run (a backfill, or the "
        "manual sync of POST /v1/analytics/sync), then analytics.synced per window."
    ),
)
analytics_companies_job = dg.define_asset_job(
    "analytics_companies_job",
    selection=dg.AssetSelection.assets(COMPANIES_CH),
    description="Full refresh of companies_ch.",
)
finops_job = dg.define_asset_job(
    "finops_job",
    selection=dg.AssetSelection.assets(COST_FACTS),
    partitions_def=FINOPS_PARTITIONS,
    description="cost_facts for one day; a date-range backfill (POST /v1/analytics/finops/aggregate) runs one per day.",
)


def sync_lag() -> timedelta:
    return timedelta(minutes=env_int("ANALYTICS_SYNC_LAG_MINUTES", 5, minimum=0))


SYNC_CRON = env_cron("ANALYTICS_SYNC_INTERVAL", "*/15 * * * *")


@dg.schedule(
    name="analytics_sync_schedule",
    cron_schedule=SYNC_CRON,
    execution_timezone="UTC",
    job=analytics_sync_job,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description=(
        "Syncs the newest window that ended at least ANALYTICS_SYNC_LAG_MINUTES (default 5) before the tick, so "
        "rows committed late in a window are not missed. Cron from ANALYTICS_SYNC_INTERVAL (default */15 * * * *)."
    ),
)
def analytics_sync_schedule(context: dg.ScheduleEvaluationContext):
    start = latest_complete_window(context.scheduled_execution_time.astimezone(UTC), sync_lag())
    if start.date() < partition_start():
        return dg.SkipReason(f"window {start.isoformat()} is before TEEI_PARTITION_START")
    key = start.strftime("%Y-%m-%d-%H:%M")
    return dg.RunRequest(run_key=key, partition_key=key)


@dg.schedule(
    name="analytics_companies_schedule",
    cron_schedule=SYNC_CRON,
    execution_timezone="UTC",
    job=analytics_companies_job,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Refreshes companies_ch on ANALYTICS_SYNC_INTERVAL (analytics.md §5).",
)
def analytics_companies_schedule(context: dg.ScheduleEvaluationContext):
    return dg.RunRequest(run_key=context.scheduled_execution_time.isoformat())


@dg.schedule(
    name="finops_schedule",
    cron_schedule=env_cron("FINOPS_CRON", "0 1 * * *"),
    execution_timezone="UTC",
    job=finops_job,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Aggregates yesterday's cost_facts (FINOPS_CRON, default 0 1 * * *, UTC).",
)
def finops_schedule(context: dg.ScheduleEvaluationContext):
    return previous_day_request(context)
