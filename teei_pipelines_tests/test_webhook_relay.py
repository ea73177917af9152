"""The receiver's relay on real PostgreSQL and a real nats-server: webhooks accepted while NATS is down stay in
webhook_inbox and all reach JetStream, once each, after NATS comes back."""

from __future__ import annotations

import time
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from teei_pipelines.devstack import free_port, start_nats, stop_process
from teei_pipelines.domain.signatures import twilio_signature
from teei_pipelines.domain.subjects import STREAM_NAME
from teei_pipelines.outbox import relay_inbox
from teei_pipelines.resources.nats import NatsResource, run_sync
from teei_pipelines.webhooks.app import create_app

TOKEN = "relay-test-token"
BASE = "https://hooks.teei.example"
PATH = "/v1/notifications/webhooks/twilio"


@pytest.fixture
def own_nats(tmp_path):
    """A nats-server this test may stop and start again (same port, same JetStream store)."""
    port = free_port()
    url = f"nats://127.0.0.1:{port}"

    def start():
        return start_nats(tmp_path / "js", port, tmp_path / "nats.log")

    process = start()
    NatsResource(url=url).ensure_stream()
    state = {"process": process}
    yield url, state, start
    stop_process(state["process"], "nats-server", grace_s=5)


def stream_messages(url: str, subject: str) -> list[tuple[int, str]]:
    async def read():
        async with NatsResource(url=url).jetstream() as (_, js):
            info = await js.stream_info(STREAM_NAME)
            found = []
            for seq in range(info.state.first_seq, info.state.last_seq + 1):
                message = await js.get_msg(STREAM_NAME, seq)
                if message.subject == subject:
                    found.append((seq, message.headers["Nats-Msg-Id"]))
            return found

    return run_sync(read())


def test_webhooks_accepted_while_nats_is_down_all_reach_jetstream_once(database_url, engine, own_nats, monkeypatch):
    url, state, start = own_nats
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", TOKEN)
    monkeypatch.setenv("PUBLIC_WEBHOOK_BASE_URL", BASE)
    stop_process(state["process"], "nats-server", grace_s=5)
    with TestClient(create_app(database_url, url, relay_interval_s=0.1)) as client:
        for index in range(60):
            params = {"MessageSid": f"SM{index:03d}", "MessageStatus": "delivered"}
            response = client.post(
                PATH,
                content=urlencode(params),
                headers={
                    "X-Twilio-Signature": twilio_signature(TOKEN, BASE + PATH, list(params.items())),
                    "Content-Type": "application/x-www-form-urlencoded",
                },
            )
            assert response.status_code == 202
        time.sleep(1)
        with engine.connect() as connection:
            waiting = connection.execute(sa.text("SELECT count(*) FROM webhook_inbox WHERE status = 'received'"))
            assert waiting.scalar_one() == 60  # NATS is down: nothing published, nothing lost
        state["process"] = start()
        deadline = time.monotonic() + 30
        published = 0
        while time.monotonic() < deadline and published < 60:
            with engine.connect() as connection:
                published = connection.execute(
                    sa.text("SELECT count(*) FROM webhook_inbox WHERE status = 'published'")
                ).scalar_one()
            time.sleep(0.3)
    assert published == 60
    with engine.connect() as connection:
        ids = {row[0] for row in connection.execute(sa.text("SELECT id::text FROM webhook_inbox"))}
    messages = stream_messages(url, "webhooks.sms.twilio")
    assert sorted(msg_id for _, msg_id in messages) == sorted(ids)  # each inbox row exactly once
    assert relay_inbox(engine, NatsResource(url=url)).published == 0  # nothing left to send
