"""The event outbox (events-webhooks.md §4): domain events are written to event_outbox in the same transaction
as the change they describe, then a relay publishes them to JetStream with their deterministic Nats-Msg-Id.

`relay_outbox` is what the webhook receiver's background task runs; assets that emit events also call it once
after committing, so events flow even when the receiver is down. Publishing uses one NATS connection per batch.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from teei_pipelines.domain.events import envelope
from teei_pipelines.pgio import query
from teei_pipelines.resources.nats import NatsResource, run_sync


def write_event(
    connection: sa.Connection, subject: str, msg_id: str, data: dict[str, Any], source: str = "teei-pipelines"
) -> bool:
    """Insert the event unless its msg_id is already there; True when a new row was written."""
    payload = envelope(subject, data, msg_id, source, datetime.now(UTC))
    inserted = connection.execute(
        sa.text(query("events/outbox_insert")),
        {"subject": subject, "msg_id": msg_id, "payload": json.dumps(payload)},
    ).first()
    return inserted is not None


def write_events(
    connection: sa.Connection, subject: str, events: list[tuple[str, dict[str, Any]]], source: str = "teei-pipelines"
) -> None:
    """Many events of one subject as (msg_id, data) pairs, in one batched statement; existing msg_ids are kept."""
    if not events:
        return
    now = datetime.now(UTC)
    connection.execute(
        sa.text(query("events/outbox_insert_many")),
        [
            {"subject": subject, "msg_id": msg_id, "payload": json.dumps(envelope(subject, data, msg_id, source, now))}
            for msg_id, data in events
        ],
    )


@dataclass(frozen=True)
class RelayReport:
    published: int
    duplicates: int
    failed: int
    error: str | None = None


def _publish(
    nats: NatsResource, messages: list[tuple[Any, str, bytes, str]]
) -> tuple[list[tuple[Any, int, bool]], str | None]:
    """Publish (row id, subject, payload, msg id) in order over one connection, pipelined: every message is on the
    wire before the first ack is awaited (one connection keeps the order). Returns the acked rows and the first
    error; rows without an ack stay pending and go again next pass (their msg id makes a repeat harmless)."""

    async def publish_all() -> tuple[list[tuple[Any, int, bool]], str | None]:
        try:
            async with nats.jetstream() as (_, js):
                results = await asyncio.gather(
                    *(
                        js.publish(subject, payload, headers={"Nats-Msg-Id": msg_id})
                        for _, subject, payload, msg_id in messages
                    ),
                    return_exceptions=True,
                )
        except Exception as exc:
            return [], f"{type(exc).__name__}: {exc}"
        acks = [
            (row_id, result.seq, bool(result.duplicate))
            for (row_id, *_), result in zip(messages, results, strict=True)
            if not isinstance(result, BaseException)
        ]
        errors = [result for result in results if isinstance(result, BaseException)]
        return acks, (f"{type(errors[0]).__name__}: {errors[0]}" if errors else None)

    return run_sync(publish_all())


def relay_outbox(engine: sa.Engine, nats: NatsResource, limit: int = 500) -> RelayReport:
    """Publish up to `limit` unpublished rows in order; rows that fail stay pending (attempts + 1)."""
    with engine.begin() as connection:
        rows = connection.execute(sa.text(query("events/outbox_pending")), {"limit": limit}).all()
        if not rows:
            return RelayReport(0, 0, 0)
        acks, error = _publish(nats, [(row.id, row.subject, row.payload.encode(), row.msg_id) for row in rows])
        if acks:
            connection.execute(
                sa.text(query("events/outbox_mark_published")),
                {"ids": [row_id for row_id, _, _ in acks], "seqs": [seq for _, seq, _ in acks]},
            )
        failed = len(rows) - len(acks)
        if error is not None and failed:
            acked = {row_id for row_id, _, _ in acks}
            first_failed = next(row.id for row in rows if row.id not in acked)
            connection.execute(sa.text(query("events/outbox_mark_failed")), {"id": first_failed, "error": error})
    duplicates = sum(duplicate for _, _, duplicate in acks)
    return RelayReport(len(acks) - duplicates, duplicates, failed, error)


def relay_inbox(engine: sa.Engine, nats: NatsResource, limit: int = 500) -> RelayReport:
    """Publish stored webhook requests (events-webhooks.md §4, §6): {inboxId, source, eventType, deliveryId} on the
    row's subject with Nats-Msg-Id = the inbox id; the raw body stays in PostgreSQL. Unacked rows stay `received`."""
    with engine.begin() as connection:
        rows = connection.execute(sa.text(query("webhooks/inbox_pending")), {"limit": limit}).all()
        if not rows:
            return RelayReport(0, 0, 0)
        messages = [
            (
                row.id,
                row.nats_subject,
                json.dumps(
                    {
                        "inboxId": row.id,
                        "source": row.source,
                        "eventType": row.event_type,
                        "deliveryId": row.delivery_id,
                    }
                ).encode(),
                row.id if not row.replay_count else f"{row.id}:replay:{row.replay_count}",  # §4 DLQ replay
            )
            for row in rows
        ]
        acks, error = _publish(nats, messages)
        if acks:
            connection.execute(
                sa.text(query("webhooks/inbox_mark_published")),
                {"ids": [row_id for row_id, _, _ in acks], "seqs": [seq for _, seq, _ in acks]},
            )
    duplicates = sum(duplicate for _, _, duplicate in acks)
    return RelayReport(len(acks) - duplicates, duplicates, len(rows) - len(acks), error)


def finish_inbox_row(connection: sa.Connection, inbox_id: str, status: str, error: str | None = None) -> None:
    """A processing job's verdict on a stored request: processed, rejected, unmatched or failed (§4)."""
    connection.execute(
        sa.text(query("webhooks/inbox_finish")), {"id": inbox_id, "status": status, "attempt": 1, "last_error": error}
    )
