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
    """Enqueue one row per recipient; returns the rows' ids (existing ones too), in recipient order."""
    keys = [f"{dedup_key}:{recipient}" for recipient in recipients]
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
