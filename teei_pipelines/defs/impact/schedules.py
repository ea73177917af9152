"""The daily VIS job and its schedule (vis.md §2): VIS_CRON_SCHEDULE (UTC) materializes yesterday."""

from __future__ import annotations

import dagster as dg

from teei_pipelines.defs.common import previous_day_request
from teei_pipelines.defs.impact.assets import PROGRAM_INSTANCE_VIS, VIS_DAILY, VIS_LATEST, VIS_PARTITIONS
from teei_pipelines.settings import env_cron

vis_daily_job = dg.define_asset_job(
    "vis_daily_job",
    selection=dg.AssetSelection.assets(VIS_DAILY, VIS_LATEST, PROGRAM_INSTANCE_VIS),
    partitions_def=VIS_PARTITIONS,
    description="VIS for one day (or a range, in one run): history, latest copy, per-instance averages.",
)


@dg.schedule(
    name="vis_daily_schedule",
    cron_schedule=env_cron("VIS_CRON_SCHEDULE", "0 2 * * *"),
    execution_timezone="UTC",
    job=vis_daily_job,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Materializes yesterday's VIS partition (env VIS_CRON_SCHEDULE, default 0 2 * * *, UTC).",
)
def vis_daily_schedule(context: dg.ScheduleEvaluationContext):
    return previous_day_request(context)
