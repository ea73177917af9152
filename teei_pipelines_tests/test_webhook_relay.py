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

from .conftest import pg_scalar, wait_until

TOKEN = "relay-test-token"
BASE = "https://hooks.teei.example"
PATH = "/v1/notifications/webhooks/twilio"
PUBLISHED = "SELECT count(*) FROM webhook_inbox WHERE status = 'published'"


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
        published = wait_until(
            lambda: pg_scalar(engine, PUBLISHED), 30, "the relay to publish the inbox", 0.3, until=lambda n: n >= 60
        )
    assert published == 60
    with engine.connect() as connection:
        ids = {row[0] for row in connection.execute(sa.text("SELECT id::text FROM webhook_inbox"))}
    messages = stream_messages(url, "webhooks.sms.twilio")
    assert sorted(msg_id for _, msg_id in messages) == sorted(ids)  # each inbox row exactly once
    assert relay_inbox(engine, NatsResource(url=url)).published == 0  # nothing left to send


def test_a_burst_of_1000_kintell_webhooks_during_a_nats_outage_loses_nothing(
    database_url, engine, own_nats, monkeypatch
):
    """Inbox rows, stream messages and runs: 1,000 signed session-completed webhooks while NATS is down all reach
    JetStream once after it is back; processed, their 1,000 domain events are requested by the sensor in bounded
    batches that together cover every stream sequence exactly once."""
    import json

    import dagster as dg

    from teei_pipelines.defs.events.kintell import process_kintell_inbox
    from teei_pipelines.defs.events.nats_sensors import SUBSCRIPTIONS
    from teei_pipelines.outbox import relay_outbox
    from teei_pipelines_tests.test_source_webhooks import COMPLETED, kintell_headers

    url, state, start = own_nats
    monkeypatch.setenv("KINTELL_WEBHOOK_SECRET", "kintell-secret")
    with engine.begin() as connection:
        connection.execute(sa.text("INSERT INTO users (email) VALUES ('p@example.org'), ('v@example.org')"))
    stop_process(state["process"], "nats-server", grace_s=5)
    with TestClient(create_app(database_url, url, relay_interval_s=0.1)) as client:
        for index in range(1000):
            body = json.dumps({**COMPLETED, "session_id": f"burst-{index}"}).encode()
            response = client.post(
                "/v1/webhooks/session-completed", content=body, headers=kintell_headers(body, delivery=f"b-{index}")
            )
            assert response.status_code == 202
        with engine.connect() as connection:
            assert (
                connection.execute(sa.text("SELECT count(*) FROM webhook_inbox WHERE status = 'received'")).scalar_one()
                == 1000
            )
        state["process"] = start()
        published = wait_until(
            lambda: pg_scalar(engine, PUBLISHED), 60, "the relay to publish the inbox", 0.3, until=lambda n: n >= 1000
        )
    assert published == 1000
    assert len(stream_messages(url, "webhooks.kintell.session_completed")) == 1000

    nats = NatsResource(url=url)
    assert process_kintell_inbox(engine, limit=2000).processed == 1000
    assert relay_outbox(engine, nats, limit=2000).published == 1000
    sensor = next(s for s in SUBSCRIPTIONS if s.name == "nats_kintell_session_completed_sensor")
    cursor, covered, runs = None, [], 0
    while True:
        context = dg.build_sensor_context(
            cursor=cursor, resources={"nats": nats}, instance=dg.DagsterInstance.ephemeral()
        )
        result = sensor(context)
        if isinstance(result, dg.SkipReason):
            break
        runs += len(result.run_requests)
        events_run = next(r for r in result.run_requests if r.job_name == "process_events_job")
        covered += events_run.run_config["ops"]["process_events"]["config"]["stream_sequences"]
        cursor = result.cursor
    event_seqs = [seq for seq, _ in stream_messages(url, "kintell.session.completed")]
    assert sorted(covered) == event_seqs and len(event_seqs) == 1000
    assert runs >= 20  # ten batches of 100, each an events run and an evidence run (plus its analytics window)
