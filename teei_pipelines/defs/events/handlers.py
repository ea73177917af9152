"""What each consumed subject does in PostgreSQL (events-webhooks.md §7, §8; notifications.md §6). Handlers are
idempotent per message and return a status: processed, skipped (with a reason) or rejected (invalid data)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from teei_pipelines.defs.profiles import update_completeness
from teei_pipelines.domain import event_payloads as payloads
from teei_pipelines.domain.templates import CATALOGUE
from teei_pipelines.notify import enqueue_email, enqueue_report_generated
from teei_pipelines.pgio import query


@dataclass(frozen=True)
class Outcome:
    status: str  # processed | skipped | rejected
    reason: str | None = None


def _enroll(connection: sa.Connection, **params: Any) -> Outcome:
    known = connection.execute(sa.text(query("events/user_exists")), {"user_id": params["user_id"]}).scalar_one()
    if not known:
        return Outcome("rejected", f"unknown user {params['user_id']}")
    inserted = connection.execute(sa.text(query("events/enrollment_upsert")), params).first()
    return Outcome("processed" if inserted else "skipped", None if inserted else "already_enrolled")


def session_completed(connection: sa.Connection, envelope: dict, seq: int) -> Outcome:
    event = payloads.parse_data(payloads.SessionCompletedEvent, envelope)
    return _enroll(
        connection,
        user_id=str(event.participantId),
        program_type=event.sessionType,
        program_instance_id=str(event.programId) if event.programId else None,
        match_id=None,
        enrolled_at=event.completedAt,
    )


def buddy_match_created(connection: sa.Connection, envelope: dict, seq: int) -> Outcome:
    event = payloads.parse_data(payloads.BuddyMatchCreatedEvent, envelope)
    return _enroll(
        connection,
        user_id=str(event.participantId),
        program_type="buddy",
        program_instance_id=None,
        match_id=str(event.matchId),
        enrolled_at=event.matchedAt,
    )


def profile_updated(connection: sa.Connection, envelope: dict, seq: int) -> Outcome:
    event = payloads.parse_data(payloads.ProfileUpdatedEvent, envelope)
    user_id = str(event.userId)
    if not connection.execute(sa.text(query("events/user_exists")), {"user_id": user_id}).scalar_one():
        return Outcome("rejected", f"unknown user {user_id}")  # §8: rejected, not retried
    changed = update_completeness(connection, [user_id])
    return Outcome("processed" if changed else "skipped", None if changed else "unchanged")


def report_generated(connection: sa.Connection, envelope: dict, seq: int) -> Outcome:
    skipped = enqueue_report_generated(connection, envelope, seq)
    return Outcome("skipped", skipped) if skipped else Outcome("processed")


def email_to(template_id: str, recipient_field: str) -> Callable[[sa.Connection, dict, int], Outcome]:
    """slo.breached, privacy.export.completed, user.registered: one e-mail to the address the event carries."""

    def handler(connection: sa.Connection, envelope: dict, seq: int) -> Outcome:
        data = envelope["data"]
        recipient = data.get(recipient_field)
        if not isinstance(recipient, str) or "@" not in recipient:
            return Outcome("skipped", "no_recipient")  # never a stand-in address (notifications.md §6)
        metadata = envelope.get("metadata") if isinstance(envelope.get("metadata"), dict) else {}
        event_id = metadata.get("id")
        enqueue_email(
            connection,
            template_id=template_id,
            subject=CATALOGUE[template_id],
            payload=data,
            dedup_key=f"event:{event_id}" if event_id else f"event:{envelope.get('type')}:{seq}",
            recipients=[recipient],
            company_id=data.get("companyId") if isinstance(data.get("companyId"), str) else None,
        )
        return Outcome("processed")

    return handler


HANDLERS: dict[str, Callable[[sa.Connection, dict, int], Outcome]] = {
    "kintell.session.completed": session_completed,
    "buddy.match.created": buddy_match_created,
    "user.profile.updated": profile_updated,
    "report.generated": report_generated,
    "reporting.generated": report_generated,
    "slo.breached": email_to("alert-slo-breach", "alertEmail"),
    "privacy.export.completed": email_to("data-export-ready", "userEmail"),
    "user.registered": email_to("welcome", "userEmail"),
}


def handle_message(connection: sa.Connection, subject: str, raw: bytes, seq: int) -> Outcome:
    """One message in its own savepoint: an invalid payload or a failing rule is rejected, never raised."""
    handler = HANDLERS.get(subject)
    if handler is None:
        return Outcome("skipped", f"no handler for {subject}")
    try:
        envelope = payloads.parse_envelope(raw)
        with connection.begin_nested():
            return handler(connection, envelope, seq)
    except payloads.InvalidEvent as exc:
        return Outcome("rejected", str(exc))
