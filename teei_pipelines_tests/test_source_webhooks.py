"""Kintell and partner webhooks on the real receiver and PostgreSQL: a correctly signed request is stored once;
tampered body, wrong secret, missing header, stale timestamp and a missing secret are rejected with nothing
stored; bodies are validated against the route's schema."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import dagster as dg
import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from teei_pipelines.defs.events.partners import process_partner_callbacks, process_partner_inbox
from teei_pipelines.webhooks.app import create_app

SECRETS = {
    "KINTELL_WEBHOOK_SECRET": "kintell-secret",
    "BENEVITY_WEBHOOK_SECRET": "benevity-secret",
    "GOODERA_WEBHOOK_SECRET": "goodera-secret",
    "WORKDAY_WEBHOOK_SECRET": "workday-secret",
}
COMPLETED = {
    "session_id": "s1",
    "session_type": "language",
    "participant_email": "p@example.org",
    "volunteer_email": "v@example.org",
    "scheduled_at": "2026-03-10T09:00:00Z",
    "completed_at": "2026-03-10T10:00:00Z",
    "duration_minutes": 60,
    "language_level": "B1",
}
BENEVITY = {
    "event_type": "delivery.success",
    "transaction_id": "tx-1",
    "organization_id": "org",
    "status": "ok",
    "timestamp": "2026-03-10T10:00:00Z",
}
GOODERA = {
    "eventType": "data.processed",
    "transactionId": "tx-2",
    "projectId": "p",
    "status": "success",
    "timestamp": "t",
}
WORKDAY = {"eventType": "activity.created", "activityId": "a1", "status": "success", "timestamp": "t"}


@pytest.fixture
def client(database_url, nats_url, monkeypatch):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    with TestClient(create_app(database_url, nats_url, relay_interval_s=0)) as test_client:
        yield test_client


def stored(engine) -> list[tuple]:
    with engine.connect() as connection:
        return connection.execute(
            sa.text("SELECT source, event_type, delivery_id, nats_subject FROM webhook_inbox ORDER BY received_at")
        ).all()


def kintell_headers(body: bytes, secret="kintell-secret", stamp=None, delivery="d-1") -> dict[str, str]:
    stamp = str(stamp or int(time.time()))
    signature = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    headers = {"X-Kintell-Signature": f"t={stamp},v1={signature}", "Content-Type": "application/json"}
    if delivery:
        headers["X-Delivery-Id"] = delivery
    return headers


def hex_hmac(secret: str, body: bytes, prefix="sha256=") -> str:
    return prefix + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_kintell_session_completed_is_stored_once_and_every_bad_request_is_refused(client, engine):
    path = "/v1/webhooks/session-completed"
    body = json.dumps(COMPLETED).encode()
    accepted = client.post(path, content=body, headers=kintell_headers(body))
    assert accepted.status_code == 202 and accepted.json() == {"status": "accepted", "deliveryId": "d-1"}
    assert client.post(path, content=body, headers=kintell_headers(body)).status_code == 200  # replay
    changed = json.dumps({**COMPLETED, "duration_minutes": 61}).encode()
    assert client.post(path, content=changed, headers=kintell_headers(changed)).status_code == 409  # same id
    responses = {
        "tampered": client.post(path, content=body.replace(b"60", b"90"), headers=kintell_headers(body, delivery="d2")),
        "wrong secret": client.post(path, content=body, headers=kintell_headers(body, "nope", delivery="d3")),
        "missing header": client.post(path, content=body, headers={"X-Delivery-Id": "d4"}),
        "stale": client.post(
            path, content=body, headers=kintell_headers(body, stamp=int(time.time()) - 301, delivery="d5")
        ),
        "future": client.post(
            path, content=body, headers=kintell_headers(body, stamp=int(time.time()) + 301, delivery="d6")
        ),
        "garbled": client.post(path, content=body, headers={"X-Kintell-Signature": "v1=abc", "X-Delivery-Id": "d7"}),
    }
    assert {name: r.status_code for name, r in responses.items()} == dict.fromkeys(responses, 401)
    no_delivery_id = client.post(path, content=body, headers=kintell_headers(body, delivery=None))
    assert no_delivery_id.status_code == 400
    invalid = json.dumps({**COMPLETED, "duration_minutes": 0}).encode()
    response = client.post(path, content=invalid, headers=kintell_headers(invalid, delivery="d8"))
    assert response.status_code == 400 and "duration_minutes" in response.json()["details"]
    assert stored(engine) == [("kintell", "session_completed", "d-1", "webhooks.kintell.session_completed")]


def test_kintell_accepts_a_signature_over_the_compact_json_and_the_booking_alias(client, engine):
    pretty = json.dumps(COMPLETED, indent=2).encode()
    compact = json.dumps(COMPLETED, separators=(",", ":")).encode()
    stamp = str(int(time.time()))
    signature = hmac.new(b"kintell-secret", stamp.encode() + b"." + compact, hashlib.sha256).hexdigest()
    headers = {"X-Kintell-Signature": f"t={stamp},v1={signature.upper()}", "X-Delivery-Id": "c-1"}
    assert client.post("/v1/webhooks/session-completed", content=pretty, headers=headers).status_code == 202
    booking = json.dumps(
        {key: COMPLETED[key] for key in ("session_type", "participant_email", "volunteer_email", "scheduled_at")}
        | {"booking_id": "b1"}
    ).encode()
    response = client.post(
        "/v1/webhooks/booking-confirmed", content=booking, headers=kintell_headers(booking, delivery="b-1")
    )
    assert response.status_code == 202
    assert [row[1] for row in stored(engine)] == ["session_completed", "session_scheduled"]


@pytest.mark.parametrize(
    ("path", "secret", "header", "body", "event_type"),
    [
        ("/webhooks/benevity", "benevity-secret", "X-Benevity-Signature", BENEVITY, "delivery.success"),
        ("/webhooks/goodera", "goodera-secret", "X-Goodera-Signature", GOODERA, "data.processed"),
        ("/webhooks/workday", "workday-secret", "X-Workday-Signature", WORKDAY, "activity.created"),
    ],
)
def test_partner_hmac_routes(client, engine, monkeypatch, path, secret, header, body, event_type):
    raw = json.dumps(body).encode()
    source = path.rsplit("/", 1)[1]
    accepted = client.post(path, content=raw, headers={header: hex_hmac(secret, raw)})
    assert accepted.status_code == 202 and accepted.json()["deliveryId"] == hashlib.sha256(raw).hexdigest()
    assert client.post(path, content=raw, headers={header: hex_hmac(secret, raw, prefix="")}).status_code == 200
    rejected = [
        client.post(path, content=raw + b" ", headers={header: hex_hmac(secret, raw)}),
        client.post(path, content=raw, headers={header: hex_hmac("wrong", raw)}),
        client.post(path, content=raw, headers={}),
        client.post(path, content=raw, headers={header: "sha256=not-hex"}),
    ]
    assert [r.status_code for r in rejected] == [401, 401, 401, 401]
    bad = json.dumps({**body, "status": 12345, "eventType": "nope", "event_type": "nope"}).encode()
    response = client.post(path, content=bad, headers={header: hex_hmac(secret, bad)})
    assert (response.status_code, response.json()) == (400, {"error": "Invalid webhook payload"})
    monkeypatch.delenv(f"{source.upper()}_WEBHOOK_SECRET")
    assert client.post(path, content=raw, headers={header: hex_hmac(secret, raw)}).status_code == 503
    assert stored(engine) == [(source, event_type, hashlib.sha256(raw).hexdigest(), f"webhooks.partner.{source}")]


def test_goodera_bearer_mode_needs_its_token(client, engine, monkeypatch):
    raw = json.dumps(GOODERA).encode()
    monkeypatch.setenv("GOODERA_WEBHOOK_AUTH", "bearer")
    assert client.post("/webhooks/goodera", content=raw, headers={"Authorization": "Bearer t0k"}).status_code == 503
    monkeypatch.setenv("GOODERA_WEBHOOK_TOKEN", "t0k")
    assert client.post("/webhooks/goodera", content=raw, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.post("/webhooks/goodera", content=raw, headers={"Authorization": "Bearer t0k"}).status_code == 202
    assert len(stored(engine)) == 1


def test_unknown_route_is_a_json_404(client):
    response = client.post("/webhooks/nope", content=b"{}")
    assert response.status_code == 404 and response.json()["error"] == "not_found"


def test_partner_callbacks_update_the_named_delivery_once(client, engine, postgres):
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO impact_deliveries (platform, payload_sample, status, created_at) VALUES "
                "('benevity', '{\"transaction_id\": \"tx-1\"}', 'pending', now() - interval '1 day'), "
                "('benevity', '{\"transaction_id\": \"tx-1\"}', 'pending', now()), "
                "('goodera', '{\"transactionId\": \"tx-2\"}', 'pending', now()), "
                "('workday', '{\"id\": \"a1\"}', 'pending', now())"
            )
        )
    failed_workday = {**WORKDAY, "status": "error", "message": "rejected by HR"}
    for path, secret, header, body in [
        ("/webhooks/benevity", "benevity-secret", "X-Benevity-Signature", BENEVITY),
        ("/webhooks/goodera", "goodera-secret", "X-Goodera-Signature", GOODERA),
        ("/webhooks/workday", "workday-secret", "X-Workday-Signature", failed_workday),
        ("/webhooks/goodera", "goodera-secret", "X-Goodera-Signature", {**GOODERA, "transactionId": "unknown"}),
    ]:
        raw = json.dumps(body).encode()
        assert client.post(path, content=raw, headers={header: hex_hmac(secret, raw)}).status_code == 202
    result = process_partner_callbacks.execute_in_process(
        resources={"postgres": postgres}, instance=dg.DagsterInstance.ephemeral()
    )
    assert result.success
    assert process_partner_inbox(engine).requests == 0  # final rows are not processed again
    with engine.connect() as connection:
        deliveries = connection.execute(
            sa.text(
                "SELECT platform::text, status::text, error_msg, delivered_at IS NOT NULL FROM impact_deliveries "
                "ORDER BY platform, created_at"
            )
        ).all()
        statuses = sorted(r[0] for r in connection.execute(sa.text("SELECT status FROM webhook_inbox")))
    assert [tuple(d) for d in deliveries] == [
        ("benevity", "pending", None, False),  # only the newest row naming tx-1 moves
        ("benevity", "delivered", None, True),
        ("goodera", "delivered", None, True),
        ("workday", "failed", "rejected by HR", False),
    ]
    assert statuses == ["processed", "processed", "processed", "unmatched"]
