"""Q2Q area (q2q-synthetics.md §1-§6): evidence extraction, budgets and their periods, the cache warmer."""

import dagster as dg

from teei_pipelines.defs.q2q.assets import budget_periods_daily, budget_periods_monthly, cache, evidence
from teei_pipelines.defs.q2q.schedules import (
    q2q_budget_daily_job,
    q2q_budget_daily_schedule,
    q2q_budget_monthly_job,
    q2q_budget_monthly_schedule,
    q2q_cache_job,
    q2q_cache_warmup_schedule,
    q2q_evidence_job,
    q2q_evidence_sensor,
)

defs = dg.Definitions(
    assets=[evidence, cache, budget_periods_daily, budget_periods_monthly],
    jobs=[q2q_evidence_job, q2q_cache_job, q2q_budget_daily_job, q2q_budget_monthly_job],
    schedules=[q2q_cache_warmup_schedule, q2q_budget_daily_schedule, q2q_budget_monthly_schedule],
    sensors=[q2q_evidence_sensor],
)
