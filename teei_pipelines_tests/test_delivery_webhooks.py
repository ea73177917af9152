"""Delivery-status webhooks on the real receiver app and PostgreSQL: each provider's correctly signed request is
stored once; tampered body, wrong key, missing header, stale timestamp and a missing secret are rejected with
nothing stored; stored requests become de-duplicated receipts and the queue row's delivery_status."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from starlette.testclient import TestClient

from teei_pipelines.defs.notifications.delivery import process_delivery_inbox
from teei_pipelines.domain.signatures import twilio_signature
from teei_pipelines.notify import enqueue_email
from teei_pipelines.webhooks.app import create_app

RESEND_SECRET = "whsec_" + base64.b64encode(b"resend-test-key-0123456789").decode()
TWILIO_TOKEN = "twilio-test-token"
PUBLIC_BASE = "https://hooks.teei.example"


@pytest.fixture
def sendgrid_key():
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def client(database_url, nats_url, monkeypatch, sendgrid_key):
    public = sendgrid_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    monkeypatch.setenv("SENDGRID_WEBHOOK_VERIFICATION_KEY", base64.b64encode(public).decode())
    monkeypatch.setenv("RESEND_WEBHOOK_SECRET", RESEND_SECRET)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", TWILIO_TOKEN)
    monkeypatch.setenv("PUBLIC_WEBHOOK_BASE_URL", PUBLIC_BASE)
    with TestClient(create_app(database_url, nats_url, relay_interval_s=0)) as test_client:
        yield test_client


def inbox(engine) -> list[tuple]:
    with engine.connect() as connection:
        return connection.execute(
            sa.text("SELECT source, delivery_id, status, nats_subject FROM webhook_inbox ORDER BY received_at")
        ).all()


def sendgrid_request(key, body: bytes, stamp: str | None = None) -> dict[str, str]:
    stamp = stamp or str(int(time.time()))
    signature = key.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return {
        "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
        "X-Twilio-Email-Event-Webhook-Timestamp": stamp,
        "Content-Type": "application/json",
    }


def svix_headers(body: bytes, secret: str = RESEND_SECRET, stamp: int | None = None, msg_id: str = "msg_1"):
    stamp = stamp or int(time.time())
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signature = base64.b64encode(hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest())
    return {"svix-id": msg_id, "svix-timestamp": str(stamp), "svix-signature": f"v1,bogus v1,{signature.decode()}"}


def twilio_request(params: dict[str, str], token: str = TWILIO_TOKEN, path="/v1/notifications/webhooks/twilio"):
    body = urlencode(params)
    signature = twilio_signature(token, PUBLIC_BASE + path, list(params.items()))
    return body, {"X-Twilio-Signature": signature, "Content-Type": "application/x-www-form-urlencoded"}


SENDGRID_PATH = "/v1/notifications/webhooks/sendgrid"
RESEND_PATH = "/v1/notifications/webhooks/resend"
TWILIO_PATH = "/v1/notifications/webhooks/twilio"


def test_sendgrid_signed_batch_is_stored_once_and_bad_requests_store_nothing(client, engine, sendgrid_key):
    body = json.dumps([{"event": "delivered", "sg_event_id": "e1", "timestamp": 1700000000}]).encode()
    headers = sendgrid_request(sendgrid_key, body)
    first = client.post(SENDGRID_PATH, content=body, headers=headers)
    assert first.status_code == 202 and first.json()["status"] == "accepted"
    replay = client.post(SENDGRID_PATH, content=body, headers=headers)
    assert replay.status_code == 200 and replay.json() == {
        "status": "duplicate",
        "deliveryId": first.json()["deliveryId"],
    }

    other_key = ec.generate_private_key(ec.SECP256R1())
    stale = str(int(time.time()) - 301)
    rejected = [
        client.post(SENDGRID_PATH, content=body + b" ", headers=headers),  # tampered body
        client.post(SENDGRID_PATH, content=body, headers=sendgrid_request(other_key, body)),  # wrong key
        client.post(SENDGRID_PATH, content=body, headers={"Content-Type": "application/json"}),  # no headers
        client.post(SENDGRID_PATH, content=body, headers=sendgrid_request(sendgrid_key, body, stale)),  # stale
    ]
    assert [r.status_code for r in rejected] == [401, 401, 401, 401]
    assert all(r.json() == {"error": "invalid_signature"} for r in rejected)
    assert inbox(engine) == [("sendgrid", first.json()["deliveryId"], "received", "webhooks.email.sendgrid")]


def test_resend_svix_is_verified_on_both_routes(client, engine):
    body = json.dumps({"type": "email.delivered", "created_at": "2026-03-10T10:00:00Z", "data": {}}).encode()
    assert client.post(RESEND_PATH, content=body, headers=svix_headers(body)).status_code == 202
    # the SendGrid path hands requests carrying svix-id to the Resend verifier
    other = svix_headers(body, msg_id="msg_2")
    assert client.post(SENDGRID_PATH, content=body, headers=other).status_code == 202
    wrong_secret = "whsec_" + base64.b64encode(b"another-key").decode()
    rejected = [
        client.post(RESEND_PATH, content=body.replace(b"delivered", b"bounced"), headers=svix_headers(body)),
        client.post(RESEND_PATH, content=body, headers=svix_headers(body, secret=wrong_secret, msg_id="m3")),
        client.post(RESEND_PATH, content=body, headers={"svix-id": "m4", "svix-timestamp": str(int(time.time()))}),
        client.post(RESEND_PATH, content=body, headers=svix_headers(body, stamp=int(time.time()) - 400, msg_id="m5")),
    ]
    assert [r.status_code for r in rejected] == [401, 401, 401, 401]
    assert [row[1] for row in inbox(engine)] == ["msg_1", "msg_2"]


def test_twilio_form_callback_is_verified_against_the_public_url(client, engine):
    params = {"MessageSid": "SM1", "MessageStatus": "delivered", "To": "+4712345678", "AccountSid": "AC1"}
    body, headers = twilio_request(params)
    accepted = client.post(TWILIO_PATH, content=body, headers=headers)
    assert accepted.status_code == 202 and accepted.json()["deliveryId"] == "SM1:delivered"
    assert client.post(TWILIO_PATH, content=body, headers=headers).status_code == 200
    tampered = body.replace("delivered", "failed")
    _, wrong = twilio_request(params, token="not-the-token")
    rejected = [
        client.post(TWILIO_PATH, content=tampered, headers=headers),
        client.post(TWILIO_PATH, content=body, headers=wrong),
        client.post(TWILIO_PATH, content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}),
    ]
    assert [r.status_code for r in rejected] == [401, 401, 401]
    assert inbox(engine) == [("twilio", "SM1:delivered", "received", "webhooks.sms.twilio")]


def test_routes_fail_closed_without_a_secret_and_reject_bad_bodies(client, engine, monkeypatch, sendgrid_key):
    body = b"[]"
    for name, path, headers in [
        ("SENDGRID_WEBHOOK_VERIFICATION_KEY", SENDGRID_PATH, sendgrid_request(sendgrid_key, body)),
        ("RESEND_WEBHOOK_SECRET", RESEND_PATH, svix_headers(body)),
        ("TWILIO_AUTH_TOKEN", TWILIO_PATH, {}),
    ]:
        with monkeypatch.context() as patch:
            patch.delenv(name)
            response = client.post(path, content=body, headers=headers)
        assert (response.status_code, response.json()) == (503, {"error": "not_configured"})
    not_json = b"{oops"
    response = client.post(SENDGRID_PATH, content=not_json, headers=sendgrid_request(sendgrid_key, not_json))
    assert response.status_code == 400 and response.json()["error"] == "invalid_payload"
    monkeypatch.setenv("WEBHOOK_MAX_BODY_BYTES", "10")
    big = b"[" + b" " * 20 + b"]"
    assert client.post(SENDGRID_PATH, content=big, headers=sendgrid_request(sendgrid_key, big)).status_code == 413
    assert inbox(engine) == []


def test_stored_events_become_receipts_once_and_set_the_delivery_status(client, engine, sendgrid_key):
    with engine.begin() as connection:
        [notification_id] = enqueue_email(
            connection,
            template_id="welcome",
            subject="Hi",
            payload={},
            dedup_key=f"t:{uuid.uuid4()}",
            recipients=["ola@example.org"],
        )
        connection.execute(
            sa.text(
                "UPDATE notifications_queue SET status = 'sent', provider = 'sendgrid', provider_message_id = 'abc'"
            )
        )
    batch = [
        {"event": "delivered", "sg_event_id": "d1", "timestamp": 1700000000, "notification_id": notification_id},
        {"event": "open", "sg_event_id": "o1", "timestamp": 1700000100, "sg_message_id": "abc.filter0001"},
        {"event": "bounce", "sg_event_id": "b1"},  # malformed: no timestamp; skipped and counted
    ]
    body = json.dumps(batch).encode()
    assert client.post(SENDGRID_PATH, content=body, headers=sendgrid_request(sendgrid_key, body)).status_code == 202
    stray = json.dumps([{"event": "delivered", "sg_event_id": "x1", "timestamp": 1700000000}]).encode()
    assert client.post(SENDGRID_PATH, content=stray, headers=sendgrid_request(sendgrid_key, stray)).status_code == 202
    params = {"MessageSid": "SM-unknown", "MessageStatus": "failed"}
    form, headers = twilio_request(params)
    assert client.post(TWILIO_PATH, content=form, headers=headers).status_code == 202

    report = process_delivery_inbox(engine)
    assert (report.requests, report.receipts, report.unmatched, report.malformed_events) == (3, 2, 2, 1)
    assert process_delivery_inbox(engine).requests == 0  # final rows are not processed again
    with engine.connect() as connection:
        receipts = connection.execute(
            sa.text("SELECT event_type, provider_event_id FROM notifications_delivery_receipts ORDER BY 1")
        ).all()
        status = connection.execute(sa.text("SELECT delivery_status FROM notifications_queue")).scalar_one()
    assert [tuple(r) for r in receipts] == [("delivered", "d1"), ("opened", "o1")]
    assert status == "delivered"  # the later open does not change it
    assert sorted(row[2] for row in inbox(engine)) == ["processed", "unmatched", "unmatched"]
