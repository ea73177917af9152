"""One job and schedule per campaign job (campaigns.md §2); each runs the hour that has just ended."""

from datetime import UTC, datetime, timedelta

import dagster as dg

from teei_pipelines.defs.campaigns.assets import CREDIT_USAGE, HOURLY, LIFECYCLE, METRICS, SEAT_USAGE, SNAPSHOTS
from teei_pipelines.settings import env_cron


def previous_hour_key(scheduled: datetime) -> str:
    start = scheduled.astimezone(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    return start.strftime("%Y-%m-%d-%H:%M")


def hourly_job_and_schedule(name: str, assets: list[dg.AssetKey], variable: str, description: str):
    job = dg.define_asset_job(
        f"{name}_job", selection=dg.AssetSelection.assets(*assets), partitions_def=HOURLY, description=description
    )

    @dg.schedule(
        name=f"{name}_schedule",
        cron_schedule=env_cron(variable, "0 * * * *"),
        execution_timezone="UTC",
        job=job,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"{description} Cron from {variable} (default 0 * * * *), for the hour that just ended.",
    )
    def _schedule(context: dg.ScheduleEvaluationContext):
        key = previous_hour_key(context.scheduled_execution_time)
        return dg.RunRequest(run_key=key, partition_key=key)

    return job, _schedule


JOBS_AND_SCHEDULES = [
    hourly_job_and_schedule(
        "campaign_lifecycle", [LIFECYCLE], "CAMPAIGN_LIFECYCLE_CRON", "Job A: date-based campaign auto-transition."
    ),
    hourly_job_and_schedule(
        "campaign_metrics",
        [METRICS, SNAPSHOTS],
        "CAMPAIGN_METRICS_CRON",
        "Job D: metrics, capacity alerts and snapshots.",
    ),
    hourly_job_and_schedule("seat_usage", [SEAT_USAGE], "SEAT_USAGE_CRON_INTERVAL", "Job B: hourly seat usage."),
    hourly_job_and_schedule(
        "credit_usage", [CREDIT_USAGE], "CREDIT_USAGE_CRON_INTERVAL", "Job C: credit usage and low-credit alerts."
    ),
]
