"""Partner delivery callbacks (events-webhooks.md §5): which impact_deliveries row a callback names and the
status it moves to. Pure: the stored, already validated body in, the update out."""

from __future__ import annotations

from dataclasses import dataclass

BENEVITY = {"delivery.success": "delivered", "delivery.failed": "failed", "delivery.retry": "retrying"}
GOODERA = {"data.received": "pending", "data.processed": "delivered", "data.failed": "failed"}
WORKDAY = {"success": "delivered", "error": "failed"}


@dataclass(frozen=True)
class PartnerUpdate:
    transaction_id: str
    status: str
    error_msg: str | None


def partner_update(source: str, body: dict) -> PartnerUpdate:
    """Raises ValueError when the body cannot name a delivery or a status (the inbox row is then rejected)."""
    if source == "benevity":
        transaction, status, error = (
            body.get("transaction_id"),
            BENEVITY.get(body.get("event_type", "")),
            body.get("error_message"),
        )
    elif source == "goodera":
        transaction, status, error = (
            body.get("transactionId"),
            GOODERA.get(body.get("eventType", "")),
            body.get("error"),
        )
    elif source == "workday":
        transaction = body.get("activityId") or body.get("enrollmentId")
        status = WORKDAY.get(body.get("status", ""))
        error = body.get("message") if status == "failed" else None
    else:
        raise ValueError(f"{source!r} is not a partner")
    if not isinstance(transaction, str) or not transaction:
        raise ValueError(f"{source}: no transaction id")
    if status is None:
        raise ValueError(f"{source}: no status mapping for this event")
    return PartnerUpdate(transaction, status, error if isinstance(error, str) and error else None)
