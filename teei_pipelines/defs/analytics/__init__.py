"""Analytics area: the PostgreSQL → ClickHouse sync and FinOps cost aggregation (analytics.md)."""

import dagster as dg

from teei_pipelines.defs.analytics.assets import (
    COMPANIES_SOURCE,
    TELEMETRY_SOURCES,
    campaign_metrics_ch,
    companies_ch,
    cost_facts,
    outcome_scores_ch,
    synced_event,
    user_events_ch,
    vis_scores_ch,
)
from teei_pipelines.defs.analytics.reconcile import analytics_reconcile_job, analytics_reconcile_schedule
from teei_pipelines.defs.analytics.schedules import (
    analytics_companies_job,
    analytics_companies_schedule,
    analytics_sync_job,
    analytics_sync_schedule,
    finops_job,
    finops_schedule,
)

defs = dg.Definitions(
    assets=[
        COMPANIES_SOURCE,
        *TELEMETRY_SOURCES,
        outcome_scores_ch,
        user_events_ch,
        vis_scores_ch,
        campaign_metrics_ch,
        companies_ch,
        synced_event,
        cost_facts,
    ],
    jobs=[analytics_sync_job, analytics_companies_job, finops_job, analytics_reconcile_job],
    schedules=[
        analytics_sync_schedule,
        analytics_companies_schedule,
        finops_schedule,
        analytics_reconcile_schedule,
    ],
)
