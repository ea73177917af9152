"""Q2Q jobs, schedules and the evidence sensor (q2q-synthetics.md §3-§5)."""

from __future__ import annotations

from datetime import UTC, timedelta

import dagster as dg

from teei_pipelines.defs.common import pending_work_sensor, previous_day_request, unless_running
from teei_pipelines.defs.q2q.assets import BUDGET_DAILY, BUDGET_MONTHLY, CACHE, DAILY, EVIDENCE, MONTHLY
from teei_pipelines.settings import env, env_cron, partition_start

q2q_evidence_job = dg.define_asset_job(
    "q2q_evidence_job",
    selection=dg.AssetSelection.assets(EVIDENCE),
    description="Classify session feedback into outcome_scores (the backlog, or the session_ids in the config).",
)
q2q_cache_job = dg.define_asset_job(
    "q2q_cache_job", selection=dg.AssetSelection.assets(CACHE), description="Warm q2q_cache."
)
q2q_budget_daily_job = dg.define_asset_job(
    "q2q_budget_daily_job", selection=dg.AssetSelection.assets(BUDGET_DAILY), partitions_def=DAILY
)
q2q_budget_monthly_job = dg.define_asset_job(
    "q2q_budget_monthly_job", selection=dg.AssetSelection.assets(BUDGET_MONTHLY), partitions_def=MONTHLY
)


q2q_cache_warmup_schedule = dg.ScheduleDefinition(
    name="q2q_cache_warmup_schedule",
    cron_schedule=env_cron("Q2Q_WARMUP_CRON", "30 7 * * 1-5"),
    execution_timezone=env("Q2Q_WARMUP_TIMEZONE", "UTC"),
    job=q2q_cache_job,
    execution_fn=unless_running(q2q_cache_job.name),
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Warms q2q_cache before business hours (Q2Q_WARMUP_CRON in Q2Q_WARMUP_TIMEZONE); one run at a time.",
)


@dg.schedule(
    name="q2q_budget_daily_schedule",
    cron_schedule=env_cron("Q2Q_DAILY_RESET_CRON", "0 0 * * *"),
    execution_timezone="UTC",
    job=q2q_budget_daily_job,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Budget reset, daily: the partition of the UTC day that just ended (Q2Q_DAILY_RESET_CRON).",
)
def q2q_budget_daily_schedule(context: dg.ScheduleEvaluationContext):
    return previous_day_request(context)


@dg.schedule(
    name="q2q_budget_monthly_schedule",
    cron_schedule=env_cron("Q2Q_MONTHLY_RESET_CRON", "0 0 1 * *"),
    execution_timezone="UTC",
    job=q2q_budget_monthly_job,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Budget reset, monthly: the partition of the UTC month that just ended (Q2Q_MONTHLY_RESET_CRON).",
)
def q2q_budget_monthly_schedule(context: dg.ScheduleEvaluationContext):
    tick = context.scheduled_execution_time.astimezone(UTC).date()
    closing = (tick.replace(day=1) - timedelta(days=1)).replace(day=1)
    if closing < partition_start().replace(day=1):
        return dg.SkipReason(f"{closing} is before TEEI_PARTITION_START ({partition_start()})")
    return dg.RunRequest(run_key=closing.isoformat(), partition_key=closing.isoformat())


q2q_evidence_sensor = pending_work_sensor(
    "q2q_evidence_sensor",
    q2q_evidence_job,
    "q2q/evidence_pending_exists",
    "Requests q2q_evidence_job when session feedback waits unclassified (and was not answered by a budget block).",
)
