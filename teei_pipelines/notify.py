"""Enqueueing alert e-mails (notifications.md §1, §6): one notifications_queue row per recipient, each with a
dedup key ending in `:<recipient>`, so a re-run enqueues nothing new. The worker renders and sends them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from teei_pipelines.pgio import query
from teei_pipelines.settings import env


def email_channel() -> str:
    return env("EMAIL_PROVIDER", "smtp")


def channel_for(kind: str) -> str:
    """notifications.md §1: e-mail rows name the configured provider; sms → twilio; push → fcm."""
    return {"sms": "twilio", "push": "fcm"}.get(kind, email_channel())


def enqueue_email(
    connection: sa.Connection,
    *,
    template_id: str,
    subject: str,
    payload: dict[str, Any],
    dedup_key: str,
    recipients: Sequence[str],
    company_id: str | None = None,
) -> list[str]:
    """Enqueue one row per recipient; returns the rows' ids (existing ones too), in recipient order.

    With several recipients each key ends in `:<recipient>`; a single-recipient event row keeps its key as is.
    """
    keys = (
        [dedup_key]
        if len(recipients) == 1 and dedup_key.startswith("event:")
        else [f"{dedup_key}:{recipient}" for recipient in recipients]
    )
    connection.execute(
        sa.text(query("notifications/enqueue")),
        [
            {
                "company_id": company_id,
                "channel": email_channel(),
                "template_id": template_id,
                "recipient": recipient,
                "subject": subject,
                "payload": json.dumps(payload, default=str),
                "dedup_key": key,
            }
            for recipient, key in zip(recipients, keys, strict=True)
        ],
    )
    found = dict(connection.execute(sa.text(query("notifications/ids_by_dedup_key")), {"dedup_keys": keys}).all())
    return [str(found[key]) for key in keys if key in found]


WEEKLY_REPORT_SUBJECT = "Weekly Impact Report - {{reportPeriod.start}} to {{reportPeriod.end}}"


def enqueue_report_generated(connection: sa.Connection, event: dict[str, Any], stream_seq: int) -> str | None:
    """report.generated (events-webhooks.md §7) → the weekly-report e-mail to data.recipientEmail.

    Returns the skip reason, or None when the row was enqueued (or already was: the dedup key is the envelope's
    metadata.id, else the stream sequence). A missing recipient is skipped; no stand-in address is ever used.
    """
    data = event.get("data") if isinstance(event.get("data"), dict) else None
    if data is None:
        return "no_data"
    recipient = data.get("recipientEmail")
    if not isinstance(recipient, str) or "@" not in recipient:
        return "no_recipient"
    metadata = event.get("metadata") if isinstance(event.get("metadata"), dict) else {}
    event_id = metadata.get("id")
    dedup_key = f"event:{event_id}" if event_id else f"event:{event.get('type', 'report.generated')}:{stream_seq}"
    enqueue_email(
        connection,
        template_id="weekly-report",
        subject=WEEKLY_REPORT_SUBJECT,
        payload=data,
        dedup_key=dedup_key,
        recipients=[recipient],
        company_id=data.get("companyId") if isinstance(data.get("companyId"), str) else None,
    )
    return None
