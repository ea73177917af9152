"""Cron-in-database notification schedules (notifications.md §2): each due tick of each enabled schedule becomes
one queue row per recipient, in the same transaction that advances the schedule's last_tick_at.

The schedule rows are the cursor: a sensor restarted mid-way recomputes from last_tick_at, and the dedup key
`schedule:<id>:<tick>:<recipient>` makes any repeated tick a no-op. A row with an invalid cron expression or
timezone records last_error (once) and is skipped; the others go on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from teei_pipelines.domain import notifications as rules
from teei_pipelines.notify import channel_for
from teei_pipelines.pgio import query
from teei_pipelines.settings import env_int


@dataclass
class SchedulerReport:
    schedules: int = 0
    ticks: int = 0
    rows: int = 0
    skipped_late: int = 0
    invalid: list[str] = field(default_factory=list)  # newly reported this evaluation


def max_lateness() -> timedelta:
    return timedelta(minutes=env_int("NOTIFICATION_SCHEDULE_MAX_LATENESS_MINUTES", 60, minimum=0))


def enqueue_due_ticks(engine: sa.Engine, now: datetime, lateness: timedelta | None = None) -> SchedulerReport:
    report = SchedulerReport()
    lateness = max_lateness() if lateness is None else lateness
    with engine.begin() as connection:
        for schedule in connection.execute(sa.text(query("notifications/schedules_due"))).mappings().all():
            report.schedules += 1
            with connection.begin_nested():
                _enqueue_schedule(connection, dict(schedule), now, lateness, report)
    return report


def _enqueue_schedule(
    connection: sa.Connection, schedule: dict[str, Any], now: datetime, lateness: timedelta, report: SchedulerReport
) -> None:
    first = max(value for value in (schedule["created_at"], schedule["start_at"]) if value is not None)
    last_tick = schedule["last_tick_at"] or first
    try:
        ticks = rules.due_ticks(
            schedule["cron_expression"],
            schedule["timezone"],
            last_tick,
            now,
            end_at=schedule["end_at"],
            max_lateness=lateness,
        )
    except rules.ScheduleError as exc:
        reported = connection.execute(
            sa.text(query("notifications/schedule_error")), {"id": schedule["id"], "error": str(exc)}
        ).first()
        if reported is not None:
            report.invalid.append(f"{schedule['name']} ({schedule['id']}): {exc}")
        return
    report.skipped_late += ticks.skipped_late
    if ticks.last_tick == last_tick:
        return
    recipients = schedule["recipients"] if isinstance(schedule["recipients"], list) else []
    payload = schedule["payload"] if isinstance(schedule["payload"], dict) else {}
    rows = [
        {
            "company_id": schedule["company_id"],
            "type": schedule["type"],
            "channel": channel_for(schedule["type"]),
            "template_id": schedule["template_id"],
            "recipient": recipient,
            "subject": schedule["subject"],
            "payload": json.dumps({**payload, "scheduledFor": tick.isoformat()}),
            "scheduled_at": tick,
            "dedup_key": f"schedule:{schedule['id']}:{tick.isoformat()}:{recipient}",
            "schedule_id": schedule["id"],
        }
        for tick in ticks.due
        for recipient in recipients
    ]
    if rows:
        connection.execute(sa.text(query("notifications/schedule_enqueue")), rows)
    connection.execute(
        sa.text(query("notifications/schedule_advance")), {"id": schedule["id"], "last_tick_at": ticks.last_tick}
    )
    report.ticks += len(ticks.due)
    report.rows += len(rows)
