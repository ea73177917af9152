"""`process_delivery_status` (notifications.md §8): stored provider webhooks → de-duplicated receipts and the
queue row's delivery_status. Each inbox row ends processed (receipts written), unmatched (no queue row found)
or rejected (the stored body no longer parses); a malformed event inside a batch is skipped and counted."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qsl

import sqlalchemy as sa

from teei_pipelines.domain import notifications as rules
from teei_pipelines.outbox import finish_inbox_row
from teei_pipelines.pgio import query


@dataclass
class DeliveryReport:
    requests: int = 0
    receipts: int = 0
    unmatched: int = 0
    rejected: int = 0
    malformed_events: int = 0


def parse_inbox_row(source: str, delivery_id: str, body: bytes) -> tuple[list[rules.ProviderEvent], int]:
    if source == "sendgrid":
        events = json.loads(body)
        if not isinstance(events, list):
            raise ValueError("not an array")
        return rules.sendgrid_events(events)
    if source == "resend":
        event = json.loads(body)
        if not isinstance(event, dict):
            raise ValueError("not an object")
        return [rules.resend_event(event, delivery_id)], 0
    form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    return [rules.twilio_event(form, datetime.now(UTC))], 0


def process_delivery_inbox(engine: sa.Engine, limit: int = 500) -> DeliveryReport:
    report = DeliveryReport()
    with engine.begin() as connection:
        for row in connection.execute(sa.text(query("notifications/delivery_inbox")), {"limit": limit}).all():
            report.requests += 1
            try:
                events, malformed = parse_inbox_row(row.source, row.delivery_id, bytes(row.raw_body))
            except (ValueError, KeyError, UnicodeDecodeError) as exc:
                finish_inbox_row(connection, row.id, "rejected", f"{type(exc).__name__}: {exc}")
                report.rejected += 1
                continue
            report.malformed_events += malformed
            matched = _store_receipts(connection, events)
            report.receipts += len(matched)
            if matched or (malformed and not events):
                finish_inbox_row(connection, row.id, "processed", None)
            else:
                finish_inbox_row(connection, row.id, "unmatched", None)
                report.unmatched += 1
            if matched:
                connection.execute(
                    sa.text(query("notifications/delivery_status_refresh")), {"ids": sorted(set(matched))}
                )
    return report


def _store_receipts(connection: sa.Connection, events: list[rules.ProviderEvent]) -> list[str]:
    matched: list[str] = []
    for event in events:
        notification_id = connection.execute(
            sa.text(query("notifications/delivery_correlate")),
            {"notification_id": _uuid_or_none(event.notification_id), "provider_message_id": event.provider_message_id},
        ).scalar()
        if notification_id is None:
            continue
        connection.execute(
            sa.text(query("notifications/receipt_insert")),
            {
                "notification_id": notification_id,
                "event_type": event.event_type,
                "event_data": json.dumps(event.event_data, default=str),
                "received_at": event.received_at,
                "provider": event.provider,
                "provider_event_id": event.provider_event_id,
            },
        )
        matched.append(notification_id)
    return matched


def _uuid_or_none(value: str | None) -> str | None:
    """A correlation id that is not a UUID cannot name a queue row (and must not reach a uuid cast)."""
    try:
        return str(uuid.UUID(value)) if value else None
    except ValueError:
        return None
