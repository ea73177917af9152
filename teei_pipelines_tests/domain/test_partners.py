"""Partner callback rules without I/O: which delivery a callback names and the status it moves to."""

from __future__ import annotations

import pytest

from teei_pipelines.domain.partners import partner_update


@pytest.mark.parametrize(
    ("source", "body", "expected"),
    [
        ("benevity", {"event_type": "delivery.retry", "transaction_id": "t"}, ("t", "retrying", None)),
        (
            "benevity",
            {"event_type": "delivery.failed", "transaction_id": "t", "error_message": "x"},
            ("t", "failed", "x"),
        ),
        ("goodera", {"eventType": "data.received", "transactionId": "g"}, ("g", "pending", None)),
        ("workday", {"enrollmentId": "e", "status": "success", "message": "ok"}, ("e", "delivered", None)),
    ],
)
def test_partner_callbacks_map_to_delivery_updates(source, body, expected):
    update = partner_update(source, body)
    assert (update.transaction_id, update.status, update.error_msg) == expected


def test_partner_callbacks_without_a_transaction_or_known_event_are_rejected():
    with pytest.raises(ValueError, match="transaction"):
        partner_update("workday", {"status": "success"})
    with pytest.raises(ValueError, match="status"):
        partner_update("goodera", {"eventType": "data.exploded", "transactionId": "g"})
