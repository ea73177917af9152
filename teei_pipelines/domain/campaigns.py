"""Campaign rules (campaigns.md §1, §3-§7): the state machine, date-based auto-transition, the instance rollup
with capacity, snapshot frequency and rows, alert bands, and credit consumption. Plain functions over mappings
keyed by database column names; numerics may arrive as Decimal, int, float or numeric strings.

The hourly assets apply the rules to every campaign at once with polars twins: `aggregate_frame` of
`aggregate_instances`, `snapshot_frame` of `build_snapshot`, `snapshots_due` of `snapshot_due`. They add the same
doubles in the same order, divide as IEEE does and round half-up exactly, so each pair agrees to the last digit
(property tests hold them equal).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import orjson
import polars as pl

from teei_pipelines.domain.rounding import fixed, fixed_decimal_expr, ieee_divide

ALLOWED_TRANSITIONS: dict[str, tuple[str, ...]] = {
    "draft": ("planned", "closed"),
    "planned": ("draft", "recruiting", "active", "closed"),
    "recruiting": ("active", "paused", "closed"),
    "active": ("paused", "completed"),
    "paused": ("active", "completed", "closed"),
    "completed": ("closed",),
    "closed": (),
}
METRICS_STATUSES = ("active", "recruiting", "paused")
ALERTING_STATUSES = ("recruiting", "active")
NEAR_CAPACITY = 0.80
FULL_CAPACITY = 1.00


class TransitionError(ValueError):
    """A refused transition, with the spec's code and details."""

    def __init__(self, message: str, code: str, details: Mapping[str, Any] | None = None):
        super().__init__(message)
        self.code = code
        self.details = dict(details or {})


def allowed_transitions(status: str) -> list[str]:
    return list(ALLOWED_TRANSITIONS.get(status, ()))


def can_transition(current: str, new: str) -> bool:
    return new in ALLOWED_TRANSITIONS.get(current, ())


def to_decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    try:
        return Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise ValueError(f"{value!r} is not a number") from exc


def to_float(value: Any) -> float | None:
    number = to_decimal(value)
    return None if number is None else float(number)


def to_date(value: Any) -> date | None:
    """A date from a date, datetime or ISO string; None for NULL or anything unparsable (never 1970)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).date() if value.tzinfo else value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def midnight_utc(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


_VALIDATION_RULES = (
    ("MISSING_NAME", "Campaign name is required"),
    ("MISSING_TEMPLATE", "Program template must be selected"),
    ("MISSING_GROUP", "Beneficiary group must be selected"),
    ("MISSING_DATES", "Start and end dates are required"),
    ("INVALID_DATE_RANGE", "Start date must be before end date"),
    ("INVALID_TARGET_VOLUNTEERS", "Target volunteers must be greater than 0"),
    ("INVALID_TARGET_BENEFICIARIES", "Target beneficiaries must be greater than 0"),
    ("INVALID_BUDGET", "Budget allocated must be greater than 0"),
    ("MISSING_PRICING_MODEL", "Pricing model must be specified"),
)


def _draft_to_planned_failure(campaign: Mapping[str, Any]) -> str | None:
    start, end = to_date(campaign.get("start_date")), to_date(campaign.get("end_date"))
    checks = {
        "MISSING_NAME": bool(str(campaign.get("name") or "").strip()),
        "MISSING_TEMPLATE": campaign.get("program_template_id") is not None,
        "MISSING_GROUP": campaign.get("beneficiary_group_id") is not None,
        "MISSING_DATES": start is not None and end is not None,
        "INVALID_DATE_RANGE": start is None or end is None or start < end,
        "INVALID_TARGET_VOLUNTEERS": (to_decimal(campaign.get("target_volunteers")) or 0) > 0,
        "INVALID_TARGET_BENEFICIARIES": (to_decimal(campaign.get("target_beneficiaries")) or 0) > 0,
        "INVALID_BUDGET": (to_decimal(campaign.get("budget_allocated")) or 0) > 0,
        "MISSING_PRICING_MODEL": bool(campaign.get("pricing_model")),
    }
    return next((code for code, _ in _VALIDATION_RULES if not checks[code]), None)


def validate_transition(campaign: Mapping[str, Any], new_status: str) -> None:
    """Raise TransitionError unless `campaign` may move to `new_status` (campaigns.md §1)."""
    current = str(campaign.get("status"))
    if not can_transition(current, new_status):
        raise TransitionError(
            f"Cannot transition campaign from {current} to {new_status}",
            "INVALID_TRANSITION",
            {"currentStatus": current, "newStatus": new_status, "allowedTransitions": allowed_transitions(current)},
        )
    if current == "draft" and new_status == "planned":
        code = _draft_to_planned_failure(campaign)
        if code is not None:
            raise TransitionError(dict(_VALIDATION_RULES)[code], code)


def auto_transition_target(status: str, start_date: Any, end_date: Any, now: datetime) -> tuple[str, str] | None:
    """The one automatic step a campaign takes at instant `now` (campaigns.md §3), or None."""
    if status in ("planned", "recruiting"):
        start = to_date(start_date)
        if start is not None and now >= midnight_utc(start):
            return "active", f"Start date reached ({start.isoformat()})"
    elif status == "active":
        end = to_date(end_date)
        if end is not None and now >= midnight_utc(end):
            return "completed", f"End date reached ({end.isoformat()})"
    return None


def _ratio(current: Any, target: Any) -> float:
    target_value = to_float(target) or 0.0
    return (to_float(current) or 0.0) / target_value if target_value > 0 else 0.0


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def aggregate_instances(campaign: Mapping[str, Any], instances: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The §4 rollup over the instances whose campaign_id equals campaign["id"]."""
    own = [row for row in instances if str(row.get("campaign_id")) == str(campaign.get("id"))]
    enrolled = [row for row in own if row.get("status") in ("active", "planned")]
    volunteers = sum(int(row.get("enrolled_volunteers") or 0) for row in enrolled)
    beneficiaries = sum(int(row.get("enrolled_beneficiaries") or 0) for row in enrolled)
    sessions = sum(int(row.get("total_sessions_held") or 0) for row in own)
    hours = sum((to_decimal(row.get("total_hours_logged")) or Decimal(0) for row in own), Decimal(0))

    sroi_rows = [
        row for row in own if row.get("status") in ("active", "completed") and row.get("sroi_score") is not None
    ]
    weight = sum(int(row.get("enrolled_beneficiaries") or 0) for row in sroi_rows)
    if not sroi_rows:
        sroi = None
    elif weight > 0:
        sroi = sum(to_float(r["sroi_score"]) * int(r.get("enrolled_beneficiaries") or 0) for r in sroi_rows) / weight
    else:
        sroi = _mean([to_float(r["sroi_score"]) for r in sroi_rows])
    vis_values = [
        to_float(row["average_vis_score"])
        for row in own
        if row.get("status") in ("active", "completed") and row.get("average_vis_score") is not None
    ]
    utilization = max(
        _ratio(volunteers, campaign.get("target_volunteers")),
        _ratio(beneficiaries, campaign.get("target_beneficiaries")),
    )
    return {
        "current_volunteers": volunteers,
        "current_beneficiaries": beneficiaries,
        "current_sessions": sessions,
        "total_hours_logged": hours.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP),
        "cumulative_sroi": fixed(sroi, 2),
        "average_vis": fixed(_mean(vis_values), 2),
        "capacity_utilization": fixed(utilization, 4),
        "is_near_capacity": NEAR_CAPACITY <= utilization < FULL_CAPACITY,
        "is_over_capacity": utilization >= FULL_CAPACITY,
        "utilization": utilization,
    }


def _sequential_sum(expr: pl.Expr) -> pl.Expr:
    """Σ in row order, as Python's sum() adds doubles (polars' plain sum may pair them differently)."""
    return expr.cum_sum().last()


def _float(name: str) -> pl.Expr:
    """A numeric column as the nearest double, as float() reads a Decimal, int or numeric text."""
    return pl.col(name).cast(pl.String).cast(pl.Float64)


def _exact(name: str) -> pl.Expr:
    """A numeric column (Decimal, int or numeric text) as an exact Decimal."""
    return pl.col(name).cast(pl.String).cast(pl.Decimal(38, 10))


def _int(name: str) -> pl.Expr:
    return pl.col(name).cast(pl.Int64)


def _ratio_expr(current: str, target: str) -> pl.Expr:
    target_value = _float(target).fill_null(0.0)
    return pl.when(target_value > 0).then(ieee_divide(_float(current).fill_null(0.0), target_value)).otherwise(0.0)


# The rollup columns written to campaigns; aggregate_frame adds `id` and the unrounded `utilization`.
ROLLUP_COLUMNS = (
    "current_volunteers",
    "current_beneficiaries",
    "current_sessions",
    "total_hours_logged",
    "cumulative_sroi",
    "average_vis",
    "capacity_utilization",
    "is_near_capacity",
    "is_over_capacity",
)


def aggregate_frame(campaigns: pl.DataFrame, instances: pl.DataFrame) -> pl.DataFrame:
    """`aggregate_instances` for every campaign at once: one row per campaign (column `id`) with the same keys."""
    own = instances.lazy().select(
        pl.col("campaign_id").cast(pl.String),
        pl.col("status").cast(pl.String),
        *[
            pl.col(name).cast(pl.Int64).fill_null(0)
            for name in ("enrolled_volunteers", "enrolled_beneficiaries", "total_sessions_held")
        ],
        _exact("total_hours_logged").fill_null(0),
        _float("sroi_score"),
        _float("average_vis_score"),
    )
    enrolled = pl.col("status").is_in(["active", "planned"])
    scored = pl.col("status").is_in(["active", "completed"])
    sroi_row = scored & pl.col("sroi_score").is_not_null()
    vis_row = scored & pl.col("average_vis_score").is_not_null()
    beneficiaries = pl.col("enrolled_beneficiaries")
    sums = own.group_by("campaign_id").agg(
        pl.col("enrolled_volunteers").filter(enrolled).sum().alias("current_volunteers"),
        beneficiaries.filter(enrolled).sum().alias("current_beneficiaries"),
        pl.col("total_sessions_held").sum().alias("current_sessions"),
        pl.col("total_hours_logged").sum().alias("_hours"),
        sroi_row.sum().alias("_sroi_rows"),
        beneficiaries.filter(sroi_row).sum().alias("_weight"),
        _sequential_sum((pl.col("sroi_score") * beneficiaries.cast(pl.Float64)).filter(sroi_row)).alias("_weighted"),
        _sequential_sum(pl.col("sroi_score").filter(sroi_row)).alias("_sroi_sum"),
        vis_row.sum().alias("_vis_rows"),
        _sequential_sum(pl.col("average_vis_score").filter(vis_row)).alias("_vis_sum"),
    )
    counts = ("current_volunteers", "current_beneficiaries", "current_sessions", "_sroi_rows", "_weight", "_vis_rows")
    joined = (
        campaigns.lazy()
        .select(pl.col("id").cast(pl.String), "target_volunteers", "target_beneficiaries")
        .join(sums, left_on="id", right_on="campaign_id", how="left", maintain_order="left")
        .with_columns(*[pl.col(name).fill_null(0).cast(pl.Int64) for name in counts])
    )
    sroi = (
        pl.when(pl.col("_sroi_rows") == 0)
        .then(None)
        .when(pl.col("_weight") > 0)
        .then(ieee_divide(pl.col("_weighted"), pl.col("_weight")))
        .otherwise(ieee_divide(pl.col("_sroi_sum"), pl.col("_sroi_rows")))
    )
    vis = pl.when(pl.col("_vis_rows") == 0).then(None).otherwise(ieee_divide(pl.col("_vis_sum"), pl.col("_vis_rows")))
    utilization = pl.max_horizontal(
        _ratio_expr("current_volunteers", "target_volunteers"),
        _ratio_expr("current_beneficiaries", "target_beneficiaries"),
    )
    return (
        joined.with_columns(sroi.alias("_sroi"), vis.alias("_vis"), utilization.alias("utilization"))
        .with_columns(
            pl.col("_hours")
            .fill_null(0)
            .round(2, mode="half_away_from_zero")
            .cast(pl.Decimal(38, 2))
            .alias("total_hours_logged"),
            fixed_decimal_expr(pl.col("_sroi"), 2).alias("cumulative_sroi"),
            fixed_decimal_expr(pl.col("_vis"), 2).alias("average_vis"),
            fixed_decimal_expr(pl.col("utilization"), 4).alias("capacity_utilization"),
            ((pl.col("utilization") >= NEAR_CAPACITY) & (pl.col("utilization") < FULL_CAPACITY)).alias(
                "is_near_capacity"
            ),
            (pl.col("utilization") >= FULL_CAPACITY).alias("is_over_capacity"),
        )
        .select("id", *ROLLUP_COLUMNS, "utilization")
        .collect()
    )


@dataclass(frozen=True)
class AlertBand:
    threshold: float
    band: str
    severity: str
    recipients: tuple[str, ...]
    priority: str
    throttle_hours: int
    template: str
    metadata: Mapping[str, bool]


CAPACITY_BANDS: tuple[AlertBand, ...] = (
    AlertBand(0.80, "80%", "info", ("sales",), "low", 24, "capacity-upsell-opportunity", {"upsell_opportunity": True}),
    AlertBand(
        0.90,
        "90%",
        "warning",
        ("company_admin",),
        "normal",
        12,
        "capacity-expansion-recommended",
        {"recommend_expansion": True, "upsell": True},
    ),
    AlertBand(
        1.00,
        "100%",
        "error",
        ("company_admin", "cs"),
        "high",
        6,
        "capacity-at-limit",
        {"recommend_expansion": True, "upsell": True},
    ),
    AlertBand(
        1.10,
        "110%",
        "critical",
        ("company_admin", "cs"),
        "critical",
        1,
        "capacity-over-limit-critical",
        {"block_enrollments": True, "escalation": True},
    ),
)


def crossed_bands(previous: Any, utilization: float) -> list[AlertBand]:
    """Bands with previous < θ ≤ utilization, lowest first (campaigns.md §4)."""
    prev = to_float(previous) or 0.0
    return [band for band in CAPACITY_BANDS if prev < band.threshold <= utilization]


def snapshot_frequency_hours(status: str, current_sessions: Any) -> int:
    """campaigns.md §5: 0 = never; active depends on cumulative sessions."""
    if status == "active":
        sessions = int(current_sessions or 0)
        return 1 if sessions > 100 else 6 if sessions > 25 else 24
    if status in ("planned", "recruiting", "paused"):
        return 24
    return 0


def snapshot_due(status: str, current_sessions: Any, hour_of_day: int) -> bool:
    frequency = snapshot_frequency_hours(status, current_sessions)
    return frequency > 0 and hour_of_day % frequency == 0


def _percent(ratio: float) -> str:
    return str(fixed(ratio * 100, 1))


def _number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def snapshot_alerts(campaign: Mapping[str, Any], volunteers: float, beneficiaries: float, budget: float) -> list[dict]:
    alerts = []
    for label, ratio in (("Volunteer", volunteers), ("Beneficiary", beneficiaries)):
        if ratio >= 1.0:
            alerts.append(
                {
                    "type": "capacity_critical",
                    "threshold": 1.0,
                    "currentValue": ratio,
                    "message": f"{label} capacity exceeded: {_percent(ratio)}% utilization",
                }
            )
        elif ratio >= 0.8:
            alerts.append(
                {
                    "type": "capacity_warning",
                    "threshold": 0.8,
                    "currentValue": ratio,
                    "message": f"{label} capacity nearing limit: {_percent(ratio)}% utilization",
                }
            )
    if budget >= 0.9:
        alerts.append(
            {
                "type": "budget_warning",
                "threshold": 0.9,
                "currentValue": budget,
                "message": f"Budget {_percent(budget)}% spent",
            }
        )
    sroi = to_float(campaign.get("cumulative_sroi"))
    if sroi is not None and sroi < 2.0 and campaign.get("status") == "active":
        alerts.append(
            {
                "type": "performance_low",
                "threshold": 2.0,
                "currentValue": sroi,
                "message": f"SROI below target: {fixed(sroi, 2)}",
            }
        )
    return alerts


def _avg_outcome_scores(instances: Iterable[Mapping[str, Any]]) -> dict[str, float]:
    values: dict[str, list[float]] = {}
    for row in instances:
        scores = row.get("outcome_scores") or {}
        if isinstance(scores, str):  # jsonb read as text
            scores = json.loads(scores) or {}
        for key, value in scores.items():
            if isinstance(value, int | float | Decimal) and not isinstance(value, bool) and math.isfinite(value):
                values.setdefault(key, []).append(float(value))
    return {key: float(fixed(sum(items) / len(items), 2)) for key, items in sorted(values.items())}


def build_snapshot(campaign: Mapping[str, Any], instances: Sequence[Mapping[str, Any]], snapshot_date: Any) -> dict:
    """The campaign_metrics_snapshots row (campaigns.md §5) from a campaign refreshed by §4 and its instances."""
    own = [row for row in instances if str(row.get("campaign_id")) == str(campaign.get("id"))]
    volunteers = _ratio(campaign.get("current_volunteers"), campaign.get("target_volunteers"))
    beneficiaries = _ratio(campaign.get("current_beneficiaries"), campaign.get("target_beneficiaries"))
    max_sessions = int(campaign["max_sessions"]) if campaign.get("max_sessions") is not None else None
    current_sessions = int(campaign.get("current_sessions") or 0)
    allocated = to_decimal(campaign.get("budget_allocated")) or Decimal(0)
    spent = to_decimal(campaign.get("budget_spent")) or Decimal(0)
    budget = float(spent) / float(allocated) if allocated > 0 else 0.0
    credits = sum((to_decimal(row.get("credits_consumed")) or Decimal(0) for row in own), Decimal(0))
    return {
        "campaign_id": str(campaign["id"]),
        "snapshot_date": snapshot_date,
        "volunteers_target": int(campaign.get("target_volunteers") or 0),
        "volunteers_current": int(campaign.get("current_volunteers") or 0),
        "volunteers_utilization": fixed(volunteers, 4),
        "beneficiaries_target": int(campaign.get("target_beneficiaries") or 0),
        "beneficiaries_current": int(campaign.get("current_beneficiaries") or 0),
        "beneficiaries_utilization": fixed(beneficiaries, 4),
        "sessions_target": max_sessions,
        "sessions_current": current_sessions,
        "sessions_utilization": fixed(current_sessions / max_sessions, 4) if max_sessions else None,
        "budget_allocated": allocated.quantize(Decimal("0.01")),
        "budget_spent": spent.quantize(Decimal("0.01")),
        "budget_remaining": (allocated - spent).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP),
        "budget_utilization": fixed(budget, 4),
        "sroi_score": to_decimal(campaign.get("cumulative_sroi")),
        "average_vis_score": to_decimal(campaign.get("average_vis")),
        "total_hours_logged": to_decimal(campaign.get("total_hours_logged")) or Decimal(0),
        "total_sessions_completed": int(campaign.get("total_sessions_completed") or 0),
        "seats_used": sum(int(row.get("volunteers_consumed") or 0) for row in own),
        "seats_committed": campaign.get("committed_seats"),
        "credits_consumed": credits.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) if credits > 0 else None,
        "credits_allocated": to_decimal(campaign.get("credit_allocation")),
        "learners_served": sum(int(row.get("learners_served") or 0) for row in own),
        "learners_committed": learners_committed(campaign.get("iaas_metrics")),
        "full_snapshot": snapshot_document(
            campaign,
            active_count=sum(row.get("status") == "active" for row in own),
            total_count=len(own),
            avg_outcome_scores=_avg_outcome_scores(own),
            ratios=(volunteers, beneficiaries, budget),
        ),
    }


def snapshot_document(
    campaign: Mapping[str, Any],
    *,
    active_count: int,
    total_count: int,
    avg_outcome_scores: dict[str, float],
    ratios: tuple[float, float, float],
) -> dict:
    """full_snapshot (campaigns.md §5); ratios = (volunteer, beneficiary, budget) utilization as doubles."""
    return {
        "campaignName": campaign.get("name"),
        "status": campaign.get("status"),
        "programTemplateId": _text(campaign.get("program_template_id")),
        "beneficiaryGroupId": _text(campaign.get("beneficiary_group_id")),
        "companyId": _text(campaign.get("company_id")),
        "programInstances": {
            "activeCount": active_count,
            "totalCount": total_count,
            "avgOutcomeScores": avg_outcome_scores,
        },
        "alerts": snapshot_alerts(campaign, *ratios),
        "snapshotMetadata": {
            "generatedBy": "metrics-aggregator",
            "dataSource": "program_instances",
            "calculationDurationMs": 0,
        },
    }


def learners_committed(iaas_metrics: Any) -> int | None:
    iaas = json.loads(iaas_metrics) if isinstance(iaas_metrics, str) else iaas_metrics or {}
    value = iaas.get("learnersCommitted") if isinstance(iaas, Mapping) else None
    return int(value) if value is not None else None


SNAPSHOT_COLUMNS: tuple[str, ...] = (
    "campaign_id",
    "snapshot_date",
    "volunteers_target",
    "volunteers_current",
    "volunteers_utilization",
    "beneficiaries_target",
    "beneficiaries_current",
    "beneficiaries_utilization",
    "sessions_target",
    "sessions_current",
    "sessions_utilization",
    "budget_allocated",
    "budget_spent",
    "budget_remaining",
    "budget_utilization",
    "sroi_score",
    "average_vis_score",
    "total_hours_logged",
    "total_sessions_completed",
    "seats_used",
    "seats_committed",
    "credits_consumed",
    "credits_allocated",
    "learners_served",
    "learners_committed",
    "full_snapshot",
)


def snapshots_due(campaigns: pl.DataFrame, hour_of_day: int) -> pl.DataFrame:
    """The campaigns `snapshot_due` selects at this hour of the day (campaigns.md §5)."""
    sessions = pl.col("current_sessions").cast(pl.Int64).fill_null(0)
    frequency = (
        pl.when(pl.col("status") == "active")
        .then(pl.when(sessions > 100).then(1).when(sessions > 25).then(6).otherwise(24))
        .when(pl.col("status").is_in(["planned", "recruiting", "paused"]))
        .then(24)
        .otherwise(0)
    )
    return campaigns.filter((frequency > 0) & (hour_of_day % frequency.clip(lower_bound=1) == 0))


def snapshot_frame(
    campaigns: pl.DataFrame, instances: pl.DataFrame, snapshot_date: datetime
) -> tuple[pl.DataFrame, list[dict]]:
    """`build_snapshot` for every campaign of `campaigns` at once: one row each (SNAPSHOT_COLUMNS, full_snapshot as
    JSON text), and {campaignId, error} for each campaign whose document could not be built (left out). The columns
    are computed by polars; only each campaign's JSON document is assembled per campaign, from values computed here."""
    own = instances.lazy().select(
        pl.col("campaign_id").cast(pl.String),
        (pl.col("status") == "active").alias("_active"),
        _int("volunteers_consumed").fill_null(0),
        _int("learners_served").fill_null(0),
        _exact("credits_consumed").fill_null(0),
    )
    per_campaign = own.group_by("campaign_id").agg(
        pl.col("volunteers_consumed").sum().alias("seats_used"),
        pl.col("learners_served").sum(),
        pl.col("credits_consumed").sum().alias("_credits"),
        pl.col("_active").sum().alias("_active_count"),
        pl.len().alias("_total_count"),
    )
    allocated, spent = _exact("budget_allocated").fill_null(0), _exact("budget_spent").fill_null(0)
    allocated_float, spent_float = _float("budget_allocated").fill_null(0.0), _float("budget_spent").fill_null(0.0)
    max_sessions, current_sessions = _int("max_sessions"), _int("current_sessions").fill_null(0)
    frame = (
        campaigns.lazy()
        .with_columns(pl.col("id").cast(pl.String))
        .join(per_campaign, left_on="id", right_on="campaign_id", how="left", maintain_order="left")
        .with_columns(
            *[pl.col(name).fill_null(0) for name in ("seats_used", "learners_served", "_active_count", "_total_count")],
            pl.col("_credits").fill_null(0),
            _ratio_expr("current_volunteers", "target_volunteers").alias("_volunteers"),
            _ratio_expr("current_beneficiaries", "target_beneficiaries").alias("_beneficiaries"),
            pl.when(allocated > 0).then(ieee_divide(spent_float, allocated_float)).otherwise(0.0).alias("_budget"),
        )
        .with_columns(
            pl.col("id").alias("campaign_id"),
            pl.lit(snapshot_date).alias("snapshot_date"),
            _int("target_volunteers").fill_null(0).alias("volunteers_target"),
            _int("current_volunteers").fill_null(0).alias("volunteers_current"),
            fixed_decimal_expr(pl.col("_volunteers"), 4).alias("volunteers_utilization"),
            _int("target_beneficiaries").fill_null(0).alias("beneficiaries_target"),
            _int("current_beneficiaries").fill_null(0).alias("beneficiaries_current"),
            fixed_decimal_expr(pl.col("_beneficiaries"), 4).alias("beneficiaries_utilization"),
            max_sessions.alias("sessions_target"),
            current_sessions.alias("sessions_current"),
            pl.when(max_sessions.fill_null(0) != 0)
            .then(fixed_decimal_expr(ieee_divide(current_sessions, max_sessions), 4))
            .alias("sessions_utilization"),
            allocated.round(2).cast(pl.Decimal(38, 2)).alias("budget_allocated"),
            spent.round(2).cast(pl.Decimal(38, 2)).alias("budget_spent"),
            (allocated - spent).round(2, mode="half_away_from_zero").cast(pl.Decimal(38, 2)).alias("budget_remaining"),
            fixed_decimal_expr(pl.col("_budget"), 4).alias("budget_utilization"),
            _exact("cumulative_sroi").alias("sroi_score"),
            _exact("average_vis").alias("average_vis_score"),
            _exact("total_hours_logged").fill_null(0),
            _int("total_sessions_completed").fill_null(0),
            _int("committed_seats").alias("seats_committed"),
            pl.when(pl.col("_credits") > 0)
            .then(pl.col("_credits").round(2, mode="half_away_from_zero").cast(pl.Decimal(38, 2)))
            .alias("credits_consumed"),
            _exact("credit_allocation").alias("credits_allocated"),
        )
        .collect()
    )
    scores = _avg_outcome_scores_by_campaign(instances, frame["id"])
    documents: list[str | None] = []
    learners: list[int | None] = []
    errors: list[dict] = []
    document_inputs = frame.select(
        "id",
        "name",
        "status",
        "program_template_id",
        "beneficiary_group_id",
        "company_id",
        "cumulative_sroi",
        "iaas_metrics",
        "_active_count",
        "_total_count",
        "_volunteers",
        "_beneficiaries",
        "_budget",
    )
    for campaign in document_inputs.iter_rows(named=True):
        document, committed = None, None
        try:
            committed = learners_committed(campaign.get("iaas_metrics"))
            document = orjson.dumps(
                snapshot_document(
                    campaign,
                    active_count=campaign["_active_count"],
                    total_count=campaign["_total_count"],
                    avg_outcome_scores=scores.get(campaign["id"], {}),
                    ratios=(campaign["_volunteers"], campaign["_beneficiaries"], campaign["_budget"]),
                ),
                default=str,
            ).decode()
        except (ValueError, TypeError, AttributeError) as exc:
            errors.append({"campaignId": campaign["id"], "error": f"{type(exc).__name__}: {exc}"})
        documents.append(document)
        learners.append(committed)
    built = frame.with_columns(
        pl.Series("full_snapshot", documents, dtype=pl.String),
        pl.Series("learners_committed", learners, dtype=pl.Int64),
    )
    return built.filter(pl.col("full_snapshot").is_not_null()).select(SNAPSHOT_COLUMNS), errors


def _avg_outcome_scores_by_campaign(instances: pl.DataFrame, campaign_ids: pl.Series) -> dict[str, dict[str, float]]:
    """avgOutcomeScores per campaign; only instances holding scores are parsed (most hold '{}' or none)."""
    if "outcome_scores" not in instances.columns:
        return {}
    holding = instances.select(pl.col("campaign_id").cast(pl.String), "outcome_scores").filter(
        pl.col("campaign_id").is_in(campaign_ids.implode())
        & pl.col("outcome_scores").is_not_null()
        & ~pl.col("outcome_scores").cast(pl.String).str.strip_chars().is_in(["{}", "null"])
    )
    grouped: dict[str, list[dict]] = {}
    for campaign_id, scores in holding.iter_rows():
        grouped.setdefault(campaign_id, []).append({"outcome_scores": scores})
    return {campaign_id: _avg_outcome_scores(rows) for campaign_id, rows in grouped.items()}


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def credits_for_minutes(minutes: Any, rate: Any) -> int:
    """campaigns.md §7: minutes × rate / 60, exact in Decimal, half-up to an integer; a NULL or ≤ 0 rate is 0."""
    rate_value = to_decimal(rate)
    if rate_value is None or rate_value <= 0:
        return 0
    exact = (to_decimal(minutes) or Decimal(0)) * rate_value / Decimal(60)
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def credits_remaining(allocation: Any, consumed: Iterable[Any]) -> int | None:
    if allocation is None:
        return None
    return int(allocation) - int(sum(to_decimal(q) or Decimal(0) for q in consumed))


def low_credit(allocation: Any, remaining: int | None) -> bool:
    """Below 10 % of the allocation, including exactly 0 and negative balances (campaigns.md §7)."""
    allocated = to_decimal(allocation)
    return allocated is not None and allocated > 0 and remaining is not None and remaining < Decimal("0.10") * allocated
