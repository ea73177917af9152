"""The JetStream envelope for domain events (events-webhooks.md §6): {type, data, metadata}.

metadata.id is derived from the deterministic Nats-Msg-Id, so re-emitting an event yields the identical envelope.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

ENVELOPE_NAMESPACE = uuid.UUID("6f1d2c1e-9b7a-4e2f-8a51-3c0e5d7b9a10")


def envelope(subject: str, data: dict[str, Any], msg_id: str, source: str, timestamp: datetime) -> dict[str, Any]:
    return {
        "type": subject,
        "data": data,
        "metadata": {
            "id": str(uuid.uuid5(ENVELOPE_NAMESPACE, msg_id)),
            "version": "v1",
            "timestamp": timestamp.isoformat(),
            "source": source,
        },
    }


def campaign_status_changed_msg_id(campaign_id: str, to_status: str, partition_key: str) -> str:
    """campaigns.md §3: `campaign.status.changed:<campaign_id>:<to>:<partition_key>`."""
    return f"campaign.status.changed:{campaign_id}:{to_status}:{partition_key}"
