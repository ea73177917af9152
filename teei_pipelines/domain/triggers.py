"""Manual triggers (events-webhooks.md §9): each request body validated into the job and partitions it will run.
Every check raises TriggerError with the client's message (400); nothing here touches a database or Dagster."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from teei_pipelines.domain.sync import finops_days, manual_sync_windows

WINDOW_FORMAT = "%Y-%m-%d-%H:%M"
FINOPS_MAX_DAYS = 92
SYNC_MAX_SPAN = timedelta(days=7)


class TriggerError(ValueError):
    def __init__(self, message: str, error: str = "invalid_request") -> None:
        super().__init__(message)
        self.error = error


@dataclass(frozen=True)
class TriggerPlan:
    trigger: str
    job: str
    partitions: list[str | None]
    run_config: dict[str, Any] = field(default_factory=dict)
    asset_selection: list[list[str]] | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _object(body: Any) -> dict[str, Any]:
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise TriggerError("the body must be a JSON object")
    return body


def plan_recalculate(body: Any, today: date, first: date) -> TriggerPlan:
    """POST /v1/impact-calculator/recalculate {user_id?, partition?}: one VIS day (default yesterday), mode full."""
    body = _object(body)
    user_id = body.get("user_id")
    if user_id is not None and (not isinstance(user_id, str) or not user_id or len(user_id) > 100):
        raise TriggerError("user_id must be a string of 1 to 100 characters")
    yesterday = today - timedelta(days=1)
    raw = body.get("partition", yesterday.isoformat())
    try:
        day = date.fromisoformat(raw) if isinstance(raw, str) and len(raw) == 10 else None
    except ValueError:
        day = None
    if day is None:
        raise TriggerError(f"partition {raw!r} is not a YYYY-MM-DD date")
    if day > yesterday:
        raise TriggerError(f"partition {day} is not complete yet: the latest is {yesterday}")
    if day < first:
        raise TriggerError(f"partition {day} is before the first partition {first}")
    config: dict[str, Any] = {"mode": "full"}
    if user_id:
        config["user_id"] = user_id
    return TriggerPlan(
        "recalculate", "vis_daily_job", [day.isoformat()], {"ops": {"impact__vis_scores_daily": {"config": config}}}
    )


def plan_campaign_snapshot(campaign_id: str) -> TriggerPlan:
    """POST /v1/campaigns/{id}/snapshot: the id must be a uuid (the route answers 404 for an unknown campaign)."""
    try:
        canonical = str(UUID(campaign_id))
    except ValueError:
        raise TriggerError(f"campaign id {campaign_id!r} is not a uuid") from None
    return TriggerPlan(
        "campaign_snapshot",
        "campaign_snapshot_job",
        [None],
        {"ops": {"campaign_snapshot": {"config": {"campaign_id": canonical}}}},
    )


def _instant(name: str, value: Any) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TriggerError(f"'{name}' must be an ISO datetime string")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise TriggerError(f"'{name}': {value!r} is not an ISO datetime") from None
    return parsed


def plan_analytics_sync(body: Any, now: datetime, lag: timedelta, first: datetime) -> TriggerPlan:
    """POST /v1/analytics/sync {from?, to?}: from < to, span ≤ 7 days; default the latest complete window."""
    body = _object(body)
    start, end = _instant("from", body.get("from")), _instant("to", body.get("to"))
    if start is not None and end is not None:
        if start.tzinfo and end.tzinfo and start >= end:
            raise TriggerError("'from' must be before 'to'")
        if start.tzinfo and end.tzinfo and end - start > SYNC_MAX_SPAN:
            raise TriggerError("the range may span at most 7 days")
    try:
        windows = manual_sync_windows(start, end, now, lag, first)
    except ValueError as exc:
        raise TriggerError(str(exc)) from None
    return TriggerPlan(
        "analytics_sync", "analytics_sync_job", [w.astimezone(UTC).strftime(WINDOW_FORMAT) for w in windows]
    )


def plan_finops(body: Any, today: date, first: date) -> TriggerPlan:
    """POST /v1/analytics/finops/aggregate {fromDate, toDate}: both required, from ≤ to ≤ yesterday, ≤ 92 days."""
    body = _object(body)
    if not body.get("fromDate") or not body.get("toDate"):
        raise TriggerError("fromDate and toDate are required", error="Missing required parameters")
    try:
        days = finops_days(body["fromDate"], body["toDate"], today, first, max_days=FINOPS_MAX_DAYS)
    except ValueError as exc:
        raise TriggerError(str(exc)) from None
    return TriggerPlan("finops_aggregate", "finops_job", [day.isoformat() for day in days])
