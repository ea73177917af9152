"""Campaign rules (campaigns.md §1, §3-§7): the state machine, date-based auto-transition, the instance rollup
with capacity, snapshot frequency and rows, alert bands, and credit consumption. Plain functions over mappings
keyed by database column names; numerics may arrive as Decimal, int, float or numeric strings.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from teei_pipelines.domain.rounding import fixed

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
    iaas = campaign.get("iaas_metrics") or {}
    learners_committed = iaas.get("learnersCommitted") if isinstance(iaas, Mapping) else None
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
        "learners_committed": int(learners_committed) if learners_committed is not None else None,
        "full_snapshot": {
            "campaignName": campaign.get("name"),
            "status": campaign.get("status"),
            "programTemplateId": _text(campaign.get("program_template_id")),
            "beneficiaryGroupId": _text(campaign.get("beneficiary_group_id")),
            "companyId": _text(campaign.get("company_id")),
            "programInstances": {
                "activeCount": sum(row.get("status") == "active" for row in own),
                "totalCount": len(own),
                "avgOutcomeScores": _avg_outcome_scores(own),
            },
            "alerts": snapshot_alerts(campaign, volunteers, beneficiaries, budget),
            "snapshotMetadata": {
                "generatedBy": "metrics-aggregator",
                "dataSource": "program_instances",
                "calculationDurationMs": 0,
            },
        },
    }


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
