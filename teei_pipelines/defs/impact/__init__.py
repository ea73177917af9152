"""Impact area: the Volunteer Impact Score (vis.md)."""

import dagster as dg

from teei_pipelines.defs.common import BUDDY_EVENTS, PROGRAM_ENROLLMENTS
from teei_pipelines.defs.impact.assets import program_instance_vis, vis_scores, vis_scores_daily
from teei_pipelines.defs.impact.schedules import vis_daily_job, vis_daily_schedule

defs = dg.Definitions(
    assets=[BUDDY_EVENTS, PROGRAM_ENROLLMENTS, vis_scores_daily, vis_scores, program_instance_vis],
    jobs=[vis_daily_job],
    schedules=[vis_daily_schedule],
)
