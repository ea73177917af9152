"""process_kintell_webhooks on the real receiver and PostgreSQL: signed Kintell requests become one session row
per session, domain events in the outbox, transient failures retried and dead-lettered at the third attempt."""

from __future__ import annotations

import json
import uuid

import dagster as dg
import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from teei_pipelines.defs.events.kintell import process_kintell_inbox, process_kintell_webhooks
from teei_pipelines.webhooks.app import create_app
from teei_pipelines_tests.test_source_webhooks import COMPLETED, kintell_headers

from ..conftest import pg_rows

SCHEDULED = {
    "booking_id": "s1",
    "session_type": "language",
    "participant_email": "P@example.org",
    "volunteer_email": "v@example.org",
    "scheduled_at": "2026-03-10T09:00:00Z",
}
RATING = {
    "rating_id": "r1",
    "session_id": "s1",
    "from_role": "participant",
    "rating": 0.9,
    "feedback_text": "I feel more confident and connected",
    "created_at": "2026-03-10T11:00:00Z",
}


@pytest.fixture
def client(database_url, nats_url, monkeypatch):
    monkeypatch.setenv("KINTELL_WEBHOOK_SECRET", "kintell-secret")
    with TestClient(create_app(database_url, nats_url, relay_interval_s=0)) as test_client:
        yield test_client


def add_users(engine, *emails: str) -> dict[str, str]:
    ids = {}
    with engine.begin() as connection:
        for email in emails:
            ids[email] = connection.execute(
                sa.text("INSERT INTO users (email, role) VALUES (:e, 'participant') RETURNING id::text"), {"e": email}
            ).scalar_one()
    return ids


def post(client, route: str, body: dict, delivery: str, expect: int = 202) -> None:
    raw = json.dumps(body).encode()
    response = client.post(route, content=raw, headers=kintell_headers(raw, delivery=delivery))
    assert response.status_code == expect, response.text


def test_booking_completion_and_rating_make_one_session_and_three_events(client, engine):
    users = add_users(engine, "p@example.org", "v@example.org")
    post(client, "/v1/webhooks/session-scheduled", SCHEDULED, "d-1")
    post(client, "/v1/webhooks/session-completed", {**COMPLETED, "topics": ["grammar"]}, "d-2")
    post(client, "/v1/webhooks/rating-created", RATING, "d-3")

    report = process_kintell_inbox(engine)
    assert (report.processed, report.rejected, report.failed) == (3, 0, 0)
    sessions = pg_rows(
        engine,
        "SELECT id::text, external_session_id, participant_id::text, completed_at IS NOT NULL, duration_minutes, "
        "topics, rating::text, feedback_text FROM kintell_sessions",
    )
    assert len(sessions) == 1  # the booking and its completion are one row (matched by e-mail, case-insensitively)
    session_id, external, participant, completed, minutes, topics, rating, text = sessions[0]
    assert (external, participant, completed, minutes, topics, rating) == (
        "s1",
        users["p@example.org"],
        True,
        60,
        ["grammar"],
        "0.90",
    )
    assert text == RATING["feedback_text"]
    events = dict(pg_rows(engine, "SELECT msg_id, payload FROM event_outbox ORDER BY msg_id"))
    assert sorted(events) == [
        "kintell.rating.created:r1",
        f"kintell.session.completed:{session_id}",
        f"kintell.session.scheduled:{session_id}",
    ]
    completed_event = events[f"kintell.session.completed:{session_id}"]
    assert completed_event["type"] == "kintell.session.completed"
    assert completed_event["data"]["sessionId"] == session_id and completed_event["data"]["durationMinutes"] == 60
    assert events["kintell.rating.created:r1"]["data"]["sessionId"] == session_id
    assert pg_rows(engine, "SELECT DISTINCT status FROM webhook_inbox") == [("processed",)]

    # a second run finds nothing to do; a replayed webhook is not stored twice
    post(client, "/v1/webhooks/session-completed", {**COMPLETED, "topics": ["grammar"]}, "d-2", expect=200)
    assert process_kintell_inbox(engine).requests == 0
    assert len(pg_rows(engine, "SELECT 1 FROM event_outbox")) == 3


def test_completion_with_another_id_matches_the_scheduled_row(client, engine):
    add_users(engine, "p@example.org", "v@example.org")
    post(client, "/v1/webhooks/session-scheduled", {**SCHEDULED, "booking_id": "booking-9"}, "d-1")
    post(client, "/v1/webhooks/session-completed", {**COMPLETED, "session_id": "session-9"}, "d-2")
    process_kintell_inbox(engine)
    assert pg_rows(engine, "SELECT external_session_id, completed_at IS NOT NULL FROM kintell_sessions") == [
        ("session-9", True)
    ]


def test_unknown_users_are_retried_then_dead_lettered(client, engine):
    post(client, "/v1/webhooks/session-completed", COMPLETED, "d-1")
    for attempt in (1, 2):
        with pytest.raises(dg.Failure, match="1 Kintell requests failed transiently"):
            process_kintell_inbox(engine)
        assert pg_rows(engine, "SELECT status, attempts FROM webhook_inbox") == [("failed", attempt)]
    report = process_kintell_inbox(engine)
    assert report.dead == 1
    assert pg_rows(engine, "SELECT status, attempts, last_error FROM webhook_inbox") == [
        ("dead", 3, "no user with the participant e-mail yet")
    ]
    dlq = pg_rows(engine, "SELECT subject, payload FROM event_outbox")
    assert [d[0] for d in dlq] == ["webhook.dlq"]
    assert dlq[0][1]["data"]["deliveryId"] == "d-1" and dlq[0][1]["data"]["retryCount"] == 3
    assert dlq[0][1]["data"]["payload"]["session_id"] == "s1"


def test_a_user_created_between_attempts_is_processed_on_retry(client, engine, postgres):
    post(client, "/v1/webhooks/session-completed", COMPLETED, "d-1")
    with pytest.raises(dg.Failure):
        process_kintell_inbox(engine)
    add_users(engine, "p@example.org", "v@example.org")
    result = process_kintell_webhooks.execute_in_process(
        resources={"postgres": postgres}, instance=dg.DagsterInstance.ephemeral()
    )
    assert result.success
    assert pg_rows(engine, "SELECT status, attempts FROM webhook_inbox") == [("processed", 2)]


def test_a_stored_body_that_no_longer_validates_is_rejected(engine):
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO webhook_inbox (source, endpoint, event_type, delivery_id, headers, raw_body, body_sha256) "
                "VALUES ('kintell', '/v1/webhooks/rating-created', 'rating_created', :d, '{}', :b, repeat('0', 64))"
            ),
            {"d": str(uuid.uuid4()), "b": b'{"rating_id": "r"}'},
        )
    report = process_kintell_inbox(engine)
    assert report.rejected == 1
    assert pg_rows(engine, "SELECT status FROM webhook_inbox") == [("rejected",)]


def test_dead_letters_are_listed_and_replayed_through_the_relay(client, engine, nats, monkeypatch):
    from teei_pipelines.outbox import relay_inbox

    monkeypatch.setenv("TRIGGER_API_TOKEN", "ops-token")
    auth = {"Authorization": "Bearer ops-token"}
    post(client, "/v1/webhooks/session-completed", COMPLETED, "d-dead")
    assert relay_inbox(engine, nats).published == 1
    for _ in range(2):
        with pytest.raises(dg.Failure):
            process_kintell_inbox(engine)
    process_kintell_inbox(engine)  # the third failure: dead

    listing = client.get("/v1/webhooks/dlq?limit=10", headers=auth).json()
    assert [m["deliveryId"] for m in listing["messages"]] == ["d-dead"]
    assert listing["stats"]["totalMessages"] == 1 and listing["stats"]["byEventType"] == {"session_completed": 1}
    assert client.get("/v1/webhooks/dlq?limit=0", headers=auth).status_code == 400
    assert client.get("/v1/webhooks/dlq").status_code == 401

    assert client.post("/v1/webhooks/dlq/kintell/unknown/replay", headers=auth).status_code == 404
    replay = client.post("/v1/webhooks/dlq/kintell/d-dead/replay", headers=auth)
    assert replay.status_code == 202 and replay.json()["replay"] == 1
    # the relay republishes under a new msg id (JetStream would drop the original id as a duplicate)
    assert relay_inbox(engine, nats).published == 1
    add_users(engine, "p@example.org", "v@example.org")
    assert process_kintell_inbox(engine).processed == 1
    assert pg_rows(engine, "SELECT status, attempts, replay_count FROM webhook_inbox") == [("processed", 1, 1)]
