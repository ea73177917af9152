"""The HTTP e-mail providers and the file outbox through the worker, against a real HTTP server on loopback that
records what it receives and answers like the provider's API (Resend, SendGrid); sms and push without a provider
fail permanently, never with a mock success."""

from __future__ import annotations

import json
import threading
import uuid
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa

from teei_pipelines.defs.notifications.worker import Worker, WorkerSettings
from teei_pipelines.notify import enqueue_email
from teei_pipelines.resources.email import EmailResource

FAST = WorkerSettings(rate_per_second=0, max_seconds=30)


class ProviderApi:
    """Answers each POST with the next scripted (status, body, headers) and keeps the requests."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.script: list[tuple[int, dict, dict]] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                api.requests.append({"path": self.path, "headers": dict(self.headers), "json": json.loads(body)})
                status, payload, headers = api.script.pop(0) if api.script else (200, {"id": "default"}, {})
                data = json.dumps(payload).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def api():
    server = ProviderApi()
    yield server
    server.server.shutdown()


def enqueue(engine, recipient: str, kind: str = "email") -> str:
    with engine.begin() as connection:
        [notification_id] = enqueue_email(
            connection,
            template_id="welcome",
            subject="Hi {{userName}}",
            payload={"userName": "Kari"},
            dedup_key=f"t:{uuid.uuid4()}",
            recipients=[recipient],
        )
        connection.execute(sa.text("UPDATE notifications_queue SET type = :kind"), {"kind": kind})
    return notification_id


def row(engine, notification_id: str):
    with engine.connect() as connection:
        return connection.execute(
            sa.text(
                "SELECT status, retry_count, provider, provider_message_id, failure_reason "
                "FROM notifications_queue WHERE id = CAST(:id AS uuid)"
            ),
            {"id": notification_id},
        ).one()


def test_resend_sends_the_notification_id_as_a_tag_and_classifies_errors(engine, api):
    email = EmailResource(provider="resend", resend_api_key="re_test", resend_api_url=api.url)
    api.script = [(200, {"id": "re-123"}, {}), (429, {"message": "slow down"}, {}), (422, {"message": "bad"}, {})]
    sent, throttled, invalid = (enqueue(engine, f"{name}@example.org") for name in ("a", "b", "c"))
    Worker(engine, email, "run-1", WorkerSettings(rate_per_second=0, concurrency=1)).run()
    request = api.requests[0]
    assert request["path"] == "/emails" and request["headers"]["Authorization"] == "Bearer re_test"
    assert request["json"]["tags"] == [{"name": "notification_id", "value": sent}]
    assert request["json"]["headers"] == {"X-TEEI-Notification-Id": sent}
    assert request["json"]["subject"] == "Hi Kari" and request["json"]["to"] == ["a@example.org"]
    assert tuple(row(engine, sent))[:4] == ("sent", 0, "resend", "re-123")
    assert tuple(row(engine, throttled))[:2] == ("queued", 1)  # 429 is transient
    failed = row(engine, invalid)
    assert (failed.status, failed.retry_count) == ("failed", 1) and "HTTP 422" in failed.failure_reason


def test_sendgrid_sends_custom_args_with_tracking_and_keeps_x_message_id(engine, api):
    email = EmailResource(provider="sendgrid", sendgrid_api_key="SG.test", sendgrid_api_url=api.url)
    api.script = [(202, {}, {"X-Message-Id": "sg-abc"})]
    notification_id = enqueue(engine, "a@example.org")
    Worker(engine, email, "run-1", FAST).run()
    body = api.requests[0]["json"]
    assert api.requests[0]["path"] == "/v3/mail/send"
    assert body["personalizations"][0]["custom_args"] == {"notification_id": notification_id}
    assert body["tracking_settings"] == {"click_tracking": {"enable": True}, "open_tracking": {"enable": True}}
    assert body["from"] == {"email": "noreply@teei-platform.com", "name": "TEEI Platform"}
    assert tuple(row(engine, notification_id))[:4] == ("sent", 0, "sendgrid", "sg-abc")


def test_file_outbox_writes_one_eml_per_notification(engine, tmp_path):
    notification_id = enqueue(engine, "a@example.org")
    Worker(engine, EmailResource(provider="file", outbox_dir=str(tmp_path)), "run-1", FAST).run()
    message = message_from_bytes((tmp_path / f"{notification_id}.eml").read_bytes())
    assert message["X-TEEI-Notification-Id"] == notification_id and message["Subject"] == "Hi Kari"
    assert tuple(row(engine, notification_id))[:4] == ("sent", 0, "file", notification_id)


def test_sms_without_twilio_and_push_fail_permanently(engine, tmp_path):
    sms = enqueue(engine, "+4712345678", kind="sms")
    report = Worker(engine, EmailResource(provider="file", outbox_dir=str(tmp_path)), "run-1", FAST).run()
    assert report.failed == 1
    assert row(engine, sms).failure_reason == "SMS provider not configured"
    push = enqueue(engine, "device-token", kind="push")
    Worker(engine, EmailResource(provider="file", outbox_dir=str(tmp_path)), "run-2", FAST).run()
    assert (row(engine, push).status, row(engine, push).failure_reason) == ("failed", "Push provider not configured")
