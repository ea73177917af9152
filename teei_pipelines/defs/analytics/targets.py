"""The sync targets (analytics.md §2): which PostgreSQL queries feed which ClickHouse table, and how rows map."""

from __future__ import annotations

import polars as pl

from teei_pipelines.defs.analytics.sync_io import Stream, SyncTarget
from teei_pipelines.domain import sync as rules

OUTCOME_SCORES = SyncTarget(
    table="outcome_scores_ch",
    identity="id",
    sorting_key=("company_id", "created_at", "dimension", "id"),
    uuid_columns=("id", "user_id", "company_id", "text_id"),
    streams=(Stream("outcome_scores", "created_at", rules.outcome_scores_rows),),
)

USER_EVENTS = SyncTarget(
    table="user_events_ch",
    identity="id",
    sorting_key=("user_id", "id"),
    uuid_columns=("id", "user_id", "company_id"),
    streams=(
        Stream("enrolled", "enrolled_at", rules.enrolled_event_rows),
        Stream("completed", "completed_at", rules.completed_event_rows),
    ),
)

VIS_SCORES = SyncTarget(
    table="vis_scores_ch",
    identity="user_id",
    sorting_key=("user_id",),
    uuid_columns=("profile_id",),
    streams=(
        Stream(
            "vis_scores",
            "calculated_at",
            rules.vis_scores_rows,
            decimals={
                "current_vis": pl.Decimal(10, 2),
                "decay_adjusted_points": pl.Decimal(10, 2),
                "percentile": pl.Decimal(5, 2),
            },
        ),
    ),
)

_UTILIZATION = pl.Decimal(8, 4)
_MONEY = pl.Decimal(12, 2)

CAMPAIGN_SNAPSHOTS = SyncTarget(
    table="campaign_metrics_snapshots_ch",
    identity="id",
    sorting_key=("campaign_id", "snapshot_date"),
    uuid_columns=("id", "campaign_id"),
    streams=(
        Stream(
            "campaign_snapshots",
            "updated_at",
            rules.campaign_snapshot_rows,
            decimals={
                "volunteers_utilization": _UTILIZATION,
                "beneficiaries_utilization": _UTILIZATION,
                "sessions_utilization": _UTILIZATION,
                "budget_allocated": _MONEY,
                "budget_spent": _MONEY,
                "budget_remaining": _MONEY,
                "budget_utilization": _UTILIZATION,
                "sroi_score": pl.Decimal(10, 2),
                "average_vis_score": pl.Decimal(10, 2),
                "total_hours_logged": _MONEY,
                "credits_consumed": _MONEY,
                "credits_allocated": _MONEY,
            },
        ),
    ),
)

WINDOW_TARGETS = (OUTCOME_SCORES, USER_EVENTS, VIS_SCORES, CAMPAIGN_SNAPSHOTS)
