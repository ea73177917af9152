"""Synthetics jobs and schedules (q2q-synthetics.md §7): runs never overlap, and each has a run budget."""

from __future__ import annotations

import dagster as dg

from teei_pipelines.defs.common import unless_running
from teei_pipelines.defs.synthetics.assets import FAST_PROBES, PROBES, synthetics_enabled
from teei_pipelines.settings import env, env_cron

synthetics_job = dg.define_asset_job(
    "synthetics_job",
    selection=dg.AssetSelection.assets(PROBES),
    tags={"dagster/max_runtime": 240},
    description="The eight tenant monitors × every tenant (run budget 240 s).",
)
synthetics_fast_job = dg.define_asset_job(
    "synthetics_fast_job",
    selection=dg.AssetSelection.assets(FAST_PROBES),
    tags={"dagster/max_runtime": 50},
    description="Connectors, the trust center and our own stack (run budget 50 s).",
)


synthetics_schedule = dg.ScheduleDefinition(
    name="synthetics_schedule",
    # the original's MONITOR_SCHEDULE is accepted as an alias
    cron_schedule=env_cron("SYNTHETICS_SCHEDULE", env("MONITOR_SCHEDULE", "*/5 * * * *")),
    execution_timezone="UTC",
    job=synthetics_job,
    execution_fn=unless_running(synthetics_job.name),
    default_status=dg.DefaultScheduleStatus.RUNNING if synthetics_enabled() else dg.DefaultScheduleStatus.STOPPED,
    description="Tenant monitors on SYNTHETICS_SCHEDULE (default */5); STOPPED unless SYNTHETICS_ENABLED=true.",
)
synthetics_fast_schedule = dg.ScheduleDefinition(
    name="synthetics_fast_schedule",
    cron_schedule=env_cron("SYNTHETICS_FAST_SCHEDULE", "* * * * *"),
    execution_timezone="UTC",
    job=synthetics_fast_job,
    execution_fn=unless_running(synthetics_fast_job.name),
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Self-probes every minute, plus connectors and the trust center with SYNTHETICS_ENABLED=true.",
)
