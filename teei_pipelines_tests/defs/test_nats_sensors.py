"""NATS subscriptions as sensors on a real nats-server, PostgreSQL and chDB: cursors in Dagster, bounded ticks,
one run per batch and target, invalid payloads counted without blocking, NATS down skips without loss; and the
end-to-end path from a signed session-completed webhook to q2q/evidence and the analytics sync."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from teei_pipelines import seed
from teei_pipelines.defs.analytics.assets import user_events_ch
from teei_pipelines.defs.events.kintell import process_kintell_inbox
from teei_pipelines.defs.events.nats_sensors import SUBSCRIPTIONS, process_events_job
from teei_pipelines.defs.q2q.assets import evidence
from teei_pipelines.domain import profiles
from teei_pipelines.domain.events import envelope
from teei_pipelines.domain.subjects import STREAM_NAME
from teei_pipelines.outbox import relay_inbox, relay_outbox
from teei_pipelines.resources.nats import NatsResource, run_sync
from teei_pipelines.webhooks.app import create_app
from teei_pipelines_tests.test_source_webhooks import COMPLETED, kintell_headers

SENSORS = {sensor.name: sensor for sensor in SUBSCRIPTIONS}


def last_seq(nats: NatsResource) -> int:
    async def read() -> int:
        async with nats.jetstream() as (_, js):
            return (await js.stream_info(STREAM_NAME)).state.last_seq

    return run_sync(read())


def publish(nats: NatsResource, subject: str, data: dict | bytes) -> None:
    raw = (
        data
        if isinstance(data, bytes)
        else json.dumps(envelope(subject, data, str(uuid.uuid4()), "test", datetime.now(UTC))).encode()
    )
    nats.publish(subject, raw, msg_id=str(uuid.uuid4()))


def tick(name: str, nats: NatsResource, cursor: int | str | None, instance=None):
    context = dg.build_sensor_context(
        cursor=str(cursor) if cursor is not None else None,
        resources={"nats": nats},
        instance=instance or dg.DagsterInstance.ephemeral(),
    )
    return SENSORS[name](context)


@pytest.fixture
def seeded(engine):
    seed.load_postgres(engine, seed.generate(0.05, 11, seed.default_anchor()))
    return engine


def one(engine, sql: str, params=None):
    with engine.connect() as connection:
        return connection.execute(sa.text(sql), params or {}).first()


def session_event(row, completed_at: datetime) -> dict:
    return {
        "sessionId": row.id,
        "sessionType": "language",
        "participantId": row.participant_id,
        "volunteerId": row.volunteer_id,
        "completedAt": completed_at.isoformat(),
        "durationMinutes": 45,
    }


def test_a_batch_becomes_one_run_per_target_and_the_cursor_moves_past_invalid_messages(seeded, nats, postgres):
    start = last_seq(nats)
    sessions = [
        one(
            seeded,
            "SELECT id::text, participant_id::text, volunteer_id::text FROM kintell_sessions "
            "WHERE feedback_text IS NOT NULL ORDER BY id OFFSET :n LIMIT 1",
            {"n": n},
        )
        for n in range(3)
    ]
    completed_at = datetime(2026, 3, 10, 10, 7, tzinfo=UTC)
    for row in sessions:
        publish(nats, "kintell.session.completed", session_event(row, completed_at))
    publish(nats, "kintell.session.completed", b"{not json")
    publish(nats, "kintell.session.completed", {"sessionId": "nope"})
    publish(nats, "buddy.match.created", {"matchId": str(uuid.uuid4())})  # another subject: not this sensor's

    result = tick("nats_kintell_session_completed_sensor", nats, start)
    assert int(result.cursor) == start + 5
    requests = {request.job_name: request for request in result.run_requests}
    assert set(requests) == {"process_events_job", "q2q_evidence_job", "analytics_sync_job"}
    events_config = requests["process_events_job"].run_config["ops"]["process_events"]["config"]
    assert events_config["stream_sequences"] == list(range(start + 1, start + 6))
    evidence_config = requests["q2q_evidence_job"].run_config["ops"]["q2q__evidence"]["config"]
    assert evidence_config["session_ids"] == sorted(row.id for row in sessions)
    assert requests["analytics_sync_job"].partition_key == "2026-03-10-10:00"
    assert requests["analytics_sync_job"].asset_selection == [dg.AssetKey(["analytics", "user_events_ch"])]
    assert requests["process_events_job"].run_key == f"kintell.session.completed:{start + 5}:process_events_job"
    assert result.asset_events[0].metadata["rejected"].value == 2

    # the same cursor again plans the same run keys (Dagster dedupes them); the new cursor finds nothing new
    again = tick("nats_kintell_session_completed_sensor", nats, start)
    assert sorted(r.run_key for r in again.run_requests) == sorted(r.run_key for r in result.run_requests)
    idle = tick("nats_kintell_session_completed_sensor", nats, result.cursor)
    assert isinstance(idle, dg.SkipReason) and "no kintell.session.completed messages" in idle.skip_message

    # the events run upserts one enrollment per participant and rejects the invalid messages; re-running is a no-op
    resources = {"postgres": postgres, "nats": nats}
    run = process_events_job.execute_in_process(
        run_config=requests["process_events_job"].run_config,
        resources=resources,
        instance=dg.DagsterInstance.ephemeral(),
    )
    report = run.output_for_node("process_events")
    assert (report["processed"] + report["skipped"], report["rejected"]) == (3, 2)
    rerun = process_events_job.execute_in_process(
        run_config=requests["process_events_job"].run_config,
        resources=resources,
        instance=dg.DagsterInstance.ephemeral(),
    ).output_for_node("process_events")
    assert rerun["processed"] == 0 and rerun["skipped"] == 3
    enrolled = one(
        seeded,
        "SELECT count(*) FROM program_enrollments WHERE enrolled_at = :t AND program_type = 'language'",
        {"t": completed_at},
    )[0]
    assert enrolled == report["processed"]


def test_ticks_are_bounded_by_the_batch_size(nats, monkeypatch):
    monkeypatch.setenv("NATS_SENSOR_BATCH_SIZE", "40")
    start = last_seq(nats)
    for index in range(100):
        publish(nats, "user.profile.updated", {"userId": str(uuid.uuid4()), "n": index})
    cursor, ticks = start, 0
    while True:
        result = tick("nats_user_profile_updated_sensor", nats, cursor)
        if isinstance(result, dg.SkipReason):
            break
        ticks += 1
        seqs = result.run_requests[0].run_config["ops"]["process_events"]["config"]["stream_sequences"]
        assert len(seqs) <= 40 and seqs[0] == cursor + 1
        cursor = int(result.cursor)
    assert (ticks, cursor) == (3, start + 100)


def test_nats_down_skips_with_a_reason_and_keeps_the_cursor():
    down = NatsResource(url="nats://127.0.0.1:9", connect_timeout_s=0.5)
    result = tick("nats_report_generated_sensor", down, 41)
    assert isinstance(result, dg.SkipReason)
    assert "NATS unavailable; the cursor stays at 41" in result.skip_message


def test_profile_updates_and_emails(engine, nats, postgres):
    with engine.begin() as connection:
        user_id = connection.execute(
            sa.text(
                "INSERT INTO users (email, first_name, last_name, city, skills) "
                "VALUES ('ann@teei.local', 'Ann', ' ', 'Oslo', '[\"  \", \"python\"]') RETURNING id::text"
            )
        ).scalar_one()
    start = last_seq(nats)
    publish(nats, "user.profile.updated", {"userId": user_id})
    publish(nats, "user.profile.updated", {"userId": str(uuid.uuid4())})  # unknown: rejected, not retried
    profile_run = tick("nats_user_profile_updated_sensor", nats, start).run_requests[0]
    publish(nats, "user.registered", {"userId": user_id, "userEmail": "ann@teei.local", "userName": "Ann"})
    publish(nats, "user.registered", {"userId": user_id, "userName": "No Address"})
    welcome_run = tick("nats_user_registered_sensor", nats, start).run_requests[0]

    resources = {"postgres": postgres, "nats": nats}
    outcome = process_events_job.execute_in_process(
        run_config=profile_run.run_config, resources=resources, instance=dg.DagsterInstance.ephemeral()
    ).output_for_node("process_events")
    assert (outcome["processed"], outcome["rejected"]) == (1, 1)
    stored, updated_at_untouched = one(
        engine, "SELECT profile_completeness, updated_at = created_at FROM users WHERE id = :id", {"id": user_id}
    )
    expected = profiles.completeness(
        {"first_name": "Ann", "last_name": " ", "email": "ann@teei.local", "city": "Oslo", "skills": ["  ", "python"]}
    )
    assert stored == expected == profiles.completeness({"first_name": "x", "email": "y", "city": "z", "skills": ["p"]})
    assert str(expected) == "33.3" and updated_at_untouched

    welcome = process_events_job.execute_in_process(
        run_config=welcome_run.run_config, resources=resources, instance=dg.DagsterInstance.ephemeral()
    ).output_for_node("process_events")
    assert (welcome["processed"], welcome["skipped"], welcome["reasons"]) == (1, 1, {"no_recipient": 1})
    assert one(engine, "SELECT template_id, recipient FROM notifications_queue WHERE template_id = 'welcome'") == (
        "welcome",
        "ann@teei.local",
    )


def test_completeness_formula():
    assert str(profiles.completeness({})) == "0.0"
    assert str(profiles.completeness(dict.fromkeys(profiles.FIELDS[:5], "x"))) == "41.7"
    assert str(profiles.completeness({**dict.fromkeys(profiles.FIELDS, "x"), "skills": ["a"]})) == "100.0"
    assert not profiles.is_filled("skills", ["", " "]) and not profiles.is_filled("skills", {"a": "b"})


def test_campaign_status_changes_force_one_snapshot_per_campaign(nats):
    start = last_seq(nats)
    campaign = str(uuid.uuid4())
    for status in ("active", "paused"):
        publish(nats, "campaign.status.changed", {"campaignId": campaign, "newStatus": status})
    result = tick("nats_campaign_status_changed_sensor", nats, start)
    assert [
        (r.job_name, r.run_config["ops"]["campaign_snapshot"]["config"]["campaign_id"]) for r in result.run_requests
    ] == [("campaign_snapshot_job", campaign)]


def test_signed_session_completed_webhook_reaches_evidence_and_the_warehouse(
    seeded, nats, nats_url, postgres, clickhouse, database_url, monkeypatch
):
    """webhook → inbox → relay → process_kintell_webhooks → outbox → relay → JetStream → sensor → q2q/evidence and
    analytics/user_events_ch."""
    monkeypatch.setenv("KINTELL_WEBHOOK_SECRET", "kintell-secret")
    participant, volunteer = (
        one(seeded, "SELECT email FROM users ORDER BY id OFFSET :n LIMIT 1", {"n": n})[0] for n in (0, 1)
    )
    completed_at = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
    body = {
        **COMPLETED,
        "session_id": "kintell-e2e-1",
        "participant_email": participant,
        "volunteer_email": volunteer,
        "scheduled_at": (completed_at - timedelta(hours=1)).isoformat(),
        "completed_at": completed_at.isoformat(),
    }
    raw = json.dumps(body).encode()
    start = last_seq(nats)
    with TestClient(create_app(database_url, nats_url, relay_interval_s=0)) as client:
        assert (
            client.post("/v1/webhooks/session-completed", content=raw, headers=kintell_headers(raw)).status_code == 202
        )
    assert relay_inbox(seeded, nats).published == 1
    assert process_kintell_inbox(seeded).processed == 1
    session_id = one(seeded, "SELECT id::text FROM kintell_sessions WHERE external_session_id = 'kintell-e2e-1'")[0]
    with seeded.begin() as connection:  # the participant's rating text arrives with the session row
        connection.execute(
            sa.text("UPDATE kintell_sessions SET feedback_text = 'My career and resume improved' WHERE id = :id"),
            {"id": session_id},
        )
    assert relay_outbox(seeded, nats).published == 1

    result = tick("nats_kintell_session_completed_sensor", nats, start)
    requests = {r.job_name: r for r in result.run_requests}
    evidence_run = dg.materialize(
        [evidence],
        run_config=requests["q2q_evidence_job"].run_config,
        resources={"postgres": postgres},
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert evidence_run.success
    assert one(seeded, "SELECT dimension, score::text FROM outcome_scores WHERE text_id = :id", {"id": session_id}) == (
        "job_readiness",
        "0.667",
    )
    process_events_job.execute_in_process(
        run_config=requests["process_events_job"].run_config,
        resources={"postgres": postgres, "nats": nats},
        instance=dg.DagsterInstance.ephemeral(),
    )
    sync = requests["analytics_sync_job"]
    synced = dg.materialize(
        [user_events_ch],
        partition_key=sync.partition_key,
        resources={"postgres": postgres, "clickhouse": clickhouse, "nats": nats},
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert synced.success
    user_id = one(seeded, "SELECT id::text FROM users WHERE email = :e", {"e": participant})[0]
    found = clickhouse.client.query(
        f"SELECT event_type FROM {clickhouse.table('user_events_ch')} FINAL WHERE user_id = {{u:UUID}}",
        parameters={"u": user_id},
    ).result_rows
    assert ("enrolled",) in found
