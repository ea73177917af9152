"""The five sync targets (analytics.md §2): which PostgreSQL queries feed which ClickHouse table, and how rows map."""

from __future__ import annotations

import polars as pl

from teei_pipelines.defs.analytics.sync_io import Stream, SyncTarget
from teei_pipelines.domain import sync as rules

TEXT = pl.String
TIMESTAMP = pl.Datetime("us", "UTC")  # PostgreSQL's timestamptz text, session TimeZone UTC

OUTCOME_SCORES = SyncTarget(
    table="outcome_scores_ch",
    identity="id",
    uuid_columns=("id", "user_id", "company_id", "text_id"),
    streams=(
        Stream(
            name="outcome_scores",
            change_column="created_at",
            columns={
                "user_id": TEXT,
                "company_id": TEXT,
                "text_id": TEXT,
                "text_type": TEXT,
                "dimension": TEXT,
                "score": pl.Float64,
                "confidence": pl.Float64,
                "model_version": TEXT,
                "created_at": TIMESTAMP,
                "id": TEXT,
            },
            mapping=rules.outcome_scores_rows,
        ),
    ),
)

USER_EVENTS = SyncTarget(
    table="user_events_ch",
    identity="id",
    uuid_columns=("id", "user_id", "company_id"),
    streams=(
        Stream(
            name="enrolled",
            change_column="enrolled_at",
            columns={
                "user_id": TEXT,
                "company_id": TEXT,
                "program_type": TEXT,
                "status": TEXT,
                "enrolled_at": TIMESTAMP,
                "id": TEXT,
            },
            mapping=rules.enrolled_event_rows,
        ),
        Stream(
            name="completed",
            change_column="completed_at",
            columns={"user_id": TEXT, "company_id": TEXT, "program_type": TEXT, "completed_at": TIMESTAMP, "id": TEXT},
            mapping=rules.completed_event_rows,
        ),
    ),
)

VIS_SCORES = SyncTarget(
    table="vis_scores_ch",
    identity="user_id",
    uuid_columns=("profile_id",),
    streams=(
        Stream(
            name="vis_scores",
            change_column="calculated_at",
            columns={
                "user_id": TEXT,
                "profile_id": TEXT,
                "current_vis": pl.Decimal(10, 2),
                "raw_points": pl.Int64,
                "decay_adjusted_points": pl.Decimal(10, 2),
                "percentile": pl.Decimal(5, 2),
                "rank": pl.Int64,
                "activity_breakdown": TEXT,
                "last_activity_date": TIMESTAMP,
                "as_of": TIMESTAMP,
                "calculated_at": TIMESTAMP,
                "id": TEXT,
            },
            mapping=rules.vis_scores_rows,
        ),
    ),
)

_UTILIZATION = pl.Decimal(8, 4)
_MONEY = pl.Decimal(12, 2)

CAMPAIGN_SNAPSHOTS = SyncTarget(
    table="campaign_metrics_snapshots_ch",
    identity="id",
    uuid_columns=("id", "campaign_id"),
    streams=(
        Stream(
            name="campaign_snapshots",
            change_column="updated_at",
            columns={
                "campaign_id": TEXT,
                "snapshot_date": TIMESTAMP,
                "volunteers_target": pl.Int32,
                "volunteers_current": pl.Int32,
                "volunteers_utilization": _UTILIZATION,
                "beneficiaries_target": pl.Int32,
                "beneficiaries_current": pl.Int32,
                "beneficiaries_utilization": _UTILIZATION,
                "sessions_target": pl.Int32,
                "sessions_current": pl.Int32,
                "sessions_utilization": _UTILIZATION,
                "budget_allocated": _MONEY,
                "budget_spent": _MONEY,
                "budget_remaining": _MONEY,
                "budget_utilization": _UTILIZATION,
                "sroi_score": pl.Decimal(10, 2),
                "average_vis_score": pl.Decimal(10, 2),
                "total_hours_logged": _MONEY,
                "total_sessions_completed": pl.Int32,
                "seats_used": pl.Int32,
                "seats_committed": pl.Int32,
                "credits_consumed": _MONEY,
                "credits_allocated": _MONEY,
                "learners_served": pl.Int32,
                "learners_committed": pl.Int32,
                "full_snapshot": TEXT,
                "created_at": TIMESTAMP,
                "updated_at": TIMESTAMP,
                "id": TEXT,
            },
            mapping=rules.campaign_snapshot_rows,
        ),
    ),
)

WINDOW_TARGETS = (OUTCOME_SCORES, USER_EVENTS, VIS_SCORES, CAMPAIGN_SNAPSHOTS)
