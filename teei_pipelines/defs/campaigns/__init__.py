"""Campaigns area: the four hourly campaign jobs and forced snapshots (campaigns.md)."""

import dagster as dg

from teei_pipelines.defs.campaigns.assets import (
    CAMPAIGNS_SOURCE,
    KINTELL_SESSIONS,
    credit_usage,
    lifecycle,
    metrics,
    metrics_snapshots,
    seat_usage,
)
from teei_pipelines.defs.campaigns.checks import CHECKS
from teei_pipelines.defs.campaigns.schedules import JOBS_AND_SCHEDULES
from teei_pipelines.defs.campaigns.snapshots import campaign_snapshot_job

defs = dg.Definitions(
    assets=[CAMPAIGNS_SOURCE, KINTELL_SESSIONS, lifecycle, metrics, metrics_snapshots, seat_usage, credit_usage],
    asset_checks=CHECKS,
    jobs=[job for job, _ in JOBS_AND_SCHEDULES] + [campaign_snapshot_job],
    schedules=[schedule for _, schedule in JOBS_AND_SCHEDULES],
)
