"""`process_kintell_webhooks` (events-webhooks.md §4, §5): stored Kintell requests → kintell_sessions, and the
domain events `kintell.session.scheduled|completed` and `kintell.rating.created` through event_outbox.

Each inbox row is handled in a savepoint: processed, rejected (invalid data: never retried), or failed (a user or
session that does not exist yet is transient). The third transient failure makes the row `dead` and writes a
`webhook.dlq` event. When rows failed with attempts left, the step raises after the others were committed, so
the RetryPolicy re-runs only what is not final.
"""

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import dagster as dg
import pydantic
import sqlalchemy as sa

from teei_pipelines.defs.common import inbox_processing_job
from teei_pipelines.outbox import finish_inbox_row, write_event
from teei_pipelines.pgio import query
from teei_pipelines.webhooks.sources import RatingCreated, SessionCompleted, SessionScheduled

MAX_ATTEMPTS = 3
MODELS: dict[str, type[pydantic.BaseModel]] = {
    "session_scheduled": SessionScheduled,
    "session_completed": SessionCompleted,
    "rating_created": RatingCreated,
}


class TransientError(Exception):
    """The data may exist later (a user not yet created, a rating before its session): retry."""


@dataclass
class KintellReport:
    requests: int = 0
    processed: int = 0
    rejected: int = 0
    failed: int = 0
    dead: int = 0
    events: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def _user_id(connection: sa.Connection, email: str, role: str) -> str:
    found = connection.execute(sa.text(query("kintell/user_by_email")), {"email": email}).scalar()
    if found is None:
        raise TransientError(f"no user with the {role} e-mail yet")
    return found


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None


def session_event_data(connection: sa.Connection, session_id: str) -> dict[str, Any]:
    row = connection.execute(sa.text(query("kintell/session_context")), {"session_id": session_id}).one()
    data = {
        "sessionId": row.session_id,
        "externalSessionId": row.external_session_id,
        "sessionType": row.session_type,
        "participantId": row.participant_id,
        "volunteerId": row.volunteer_id,
        "scheduledAt": _iso(row.scheduled_at),
        "completedAt": _iso(row.completed_at),
        "durationMinutes": row.duration_minutes,
        "topics": row.topics,
        "languageLevel": row.language_level,
        "programId": row.program_id,
        "campaignId": row.campaign_id,
        "beneficiaryGroupId": row.beneficiary_group_id,
    }
    return {key: value for key, value in data.items() if value is not None}


def handle(connection: sa.Connection, event_type: str, body: pydantic.BaseModel) -> tuple[str, str, dict]:
    """Apply one validated request; returns the domain event (subject, msg_id, data) it emits."""
    if isinstance(body, SessionScheduled):
        session_id = connection.execute(
            sa.text(query("kintell/session_scheduled_upsert")),
            {
                "external_id": body.booking_id,
                "session_type": body.session_type,
                "participant_id": _user_id(connection, body.participant_email, "participant"),
                "volunteer_id": _user_id(connection, body.volunteer_email, "volunteer"),
                "scheduled_at": body.scheduled_at,
            },
        ).scalar_one()
        data = session_event_data(connection, session_id)
        scheduled = {
            k: data[k]
            for k in ("sessionId", "externalSessionId", "sessionType", "participantId", "volunteerId", "scheduledAt")
            if k in data
        }
        return "kintell.session.scheduled", f"kintell.session.scheduled:{session_id}", scheduled
    if isinstance(body, SessionCompleted):
        params = {
            "external_id": body.session_id,
            "session_type": body.session_type,
            "participant_id": _user_id(connection, body.participant_email, "participant"),
            "volunteer_id": _user_id(connection, body.volunteer_email, "volunteer"),
            "scheduled_at": body.scheduled_at,
            "completed_at": body.completed_at,
            "duration_minutes": body.duration_minutes,
            "language_level": body.language_level,
            "topics": json.dumps(body.topics) if body.topics is not None else None,
        }
        session_id = connection.execute(sa.text(query("kintell/session_completed_update")), params).scalar()
        if session_id is None:
            session_id = connection.execute(sa.text(query("kintell/session_completed_insert")), params).scalar_one()
        return (
            "kintell.session.completed",
            f"kintell.session.completed:{session_id}",
            session_event_data(connection, session_id),
        )
    assert isinstance(body, RatingCreated), event_type
    session_id = connection.execute(
        sa.text(query("kintell/rating_update")),
        {"external_id": body.session_id, "rating": body.rating, "feedback_text": body.feedback_text},
    ).scalar()
    if session_id is None:
        raise TransientError(f"no session with Kintell id {body.session_id!r} yet")
    data = {
        "ratingId": body.rating_id,
        "sessionId": session_id,
        "fromRole": body.from_role,
        "rating": body.rating,
        "feedbackText": body.feedback_text,
        "createdAt": _iso(body.created_at),
    }
    return (
        "kintell.rating.created",
        f"kintell.rating.created:{body.rating_id}",
        {k: v for k, v in data.items() if v is not None},
    )


def dead_letter(connection: sa.Connection, inbox_id: str, error: str) -> None:
    row = connection.execute(sa.text(query("kintell/inbox_dead")), {"id": inbox_id, "last_error": error}).one()
    write_event(
        connection,
        "webhook.dlq",
        f"webhook.dlq:{inbox_id}:{row.attempts}",
        {
            "deliveryId": row.delivery_id,
            "source": row.source,
            "eventType": row.event_type,
            "payload": json.loads(row.payload),
            "retryCount": row.attempts,
            "lastError": error,
            "originalTimestamp": _iso(row.received_at),
            "dlqTimestamp": datetime.now(UTC).isoformat(),
        },
    )


def process_kintell_inbox(engine: sa.Engine, limit: int = 500) -> KintellReport:
    report = KintellReport()
    with engine.begin() as connection:
        for row in connection.execute(sa.text(query("kintell/inbox_pending")), {"limit": limit}).all():
            report.requests += 1
            try:
                with connection.begin_nested():
                    body = MODELS[row.event_type].model_validate_json(bytes(row.raw_body))
                    subject, msg_id, data = handle(connection, row.event_type, body)
                    write_event(connection, subject, msg_id, data, source="kintell")
                    finish_inbox_row(connection, row.id, "processed", None)
                report.processed += 1
                report.events[subject] = report.events.get(subject, 0) + 1
            except (KeyError, pydantic.ValidationError) as exc:
                finish_inbox_row(connection, row.id, "rejected", str(exc).splitlines()[0][:500])
                report.rejected += 1
            except TransientError as exc:
                if row.attempts + 1 >= MAX_ATTEMPTS:
                    dead_letter(connection, row.id, str(exc))
                    report.dead += 1
                else:
                    finish_inbox_row(connection, row.id, "failed", str(exc))
                    report.failed += 1
                    report.errors.append(f"{row.id}: {exc}")
    if report.failed:
        # after the commit above: the retry re-runs only the rows that are not final
        raise dg.Failure(
            f"{report.failed} Kintell requests failed transiently and will be retried",
            metadata={"errors": report.errors[:20], "processed": report.processed, "dead": report.dead},
        )
    return report


process_kintell_webhooks = inbox_processing_job(
    "process_kintell_webhooks",
    process_kintell_inbox,
    "Kintell session and rating webhooks stored by the receiver → kintell_sessions and domain events (§5).",
    "events",
)
