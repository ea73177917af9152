"""Manual triggers (events-webhooks.md §9) on the real receiver, PostgreSQL and nats-server: bearer auth, validation
with clear 400s, inbox storage with idempotency keys, the trigger sensor's one run per partition, and the request
status with its runs."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from teei_pipelines import seed
from teei_pipelines.defs.campaigns.snapshots import campaign_snapshot_job
from teei_pipelines.defs.events.nats_sensors import nats_pipelines_trigger_sensor
from teei_pipelines.domain.subjects import STREAM_NAME
from teei_pipelines.outbox import relay_inbox
from teei_pipelines.resources.nats import run_sync
from teei_pipelines.webhooks.app import create_app

TOKEN = "trigger-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
YESTERDAY = (datetime.now(UTC) - timedelta(days=1)).date()


@pytest.fixture
def client(database_url, nats_url, monkeypatch):
    monkeypatch.setenv("TRIGGER_API_TOKEN", TOKEN)
    with TestClient(create_app(database_url, nats_url, relay_interval_s=0)) as test_client:
        yield test_client


def inbox(engine) -> list[tuple]:
    with engine.connect() as connection:
        return connection.execute(
            sa.text("SELECT source, event_type, delivery_id, status FROM webhook_inbox ORDER BY received_at")
        ).all()


def test_auth_fails_closed(client, engine, monkeypatch):
    assert client.post("/v1/analytics/sync", json={}).status_code == 401
    assert client.post("/v1/analytics/sync", json={}, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get(f"/v1/pipelines/requests/{uuid.uuid4()}", headers={"Authorization": "Basic x"}).status_code == 401
    monkeypatch.delenv("TRIGGER_API_TOKEN")
    response = client.post("/v1/analytics/sync", json={}, headers=AUTH)
    assert response.status_code == 503 and response.json()["error"] == "not_configured"
    assert inbox(engine) == []


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("/v1/analytics/finops/aggregate", {"fromDate": "2026-01-01"}, "fromDate and toDate are required"),
        ("/v1/analytics/finops/aggregate", {"fromDate": "2026-13-01", "toDate": "2026-01-02"}, "not a YYYY-MM-DD"),
        ("/v1/analytics/finops/aggregate", {"fromDate": "2025-01-01", "toDate": "2025-06-01"}, "at most 92"),
        ("/v1/analytics/finops/aggregate", {"fromDate": "2026-02-02", "toDate": "2026-02-01"}, "is after toDate"),
        ("/v1/analytics/sync", {"from": "2026-03-10T10:00:00Z", "to": "2026-03-10T09:00:00Z"}, "before 'to'"),
        ("/v1/analytics/sync", {"from": "2026-03-01T00:00:00Z", "to": "2026-03-09T00:00:00Z"}, "at most 7 days"),
        ("/v1/analytics/sync", {"from": "yesterday"}, "is not an ISO datetime"),
        ("/v1/impact-calculator/recalculate", {"partition": "2999-01-01"}, "not complete yet"),
        ("/v1/impact-calculator/recalculate", {"user_id": "x" * 101}, "1 to 100 characters"),
        ("/v1/impact-calculator/recalculate", [1, 2], "must be a JSON object"),
        ("/v1/campaigns/not-a-uuid/snapshot", None, "is not a uuid"),
    ],
)
def test_invalid_requests_get_a_400_with_the_reason(client, engine, path, body, message):
    response = client.post(path, json=body, headers=AUTH)
    assert response.status_code == 400
    assert message in response.json()["message"]
    assert inbox(engine) == []


def test_missing_finops_parameters_answer_the_original_error(client):
    response = client.post("/v1/analytics/finops/aggregate", json={}, headers=AUTH)
    assert response.json() == {"error": "Missing required parameters", "message": "fromDate and toDate are required"}


def test_an_unknown_campaign_is_404(client, engine):
    response = client.post(f"/v1/campaigns/{uuid.uuid4()}/snapshot", headers=AUTH)
    assert response.status_code == 404 and "does not exist" in response.json()["message"]
    assert inbox(engine) == []


def test_accepted_requests_are_stored_once_and_answer_their_plan(client, engine):
    body = {"fromDate": "2026-01-30", "toDate": "2026-02-02"}
    response = client.post("/v1/analytics/finops/aggregate", json=body, headers={**AUTH, "Idempotency-Key": "k-1"})
    assert response.status_code == 202
    assert response.json() == {
        "status": "accepted",
        "requestId": "k-1",
        "job": "finops_job",
        "partitions": ["2026-01-30", "2026-01-31", "2026-02-01", "2026-02-02"],
    }
    again = client.post("/v1/analytics/finops/aggregate", json=body, headers={**AUTH, "Idempotency-Key": "k-1"})
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    other = client.post(
        "/v1/analytics/finops/aggregate",
        json={**body, "toDate": "2026-01-31"},
        headers={**AUTH, "Idempotency-Key": "k-1"},
    )
    assert other.status_code == 409
    sync = client.post(
        "/v1/analytics/sync", json={"from": "2026-03-10T10:05:00Z", "to": "2026-03-10T10:35:00Z"}, headers=AUTH
    )
    assert sync.status_code == 202
    assert sync.json()["partitions"] == ["2026-03-10-10:00", "2026-03-10-10:15", "2026-03-10-10:30"]
    recalc = client.post("/v1/impact-calculator/recalculate", json={}, headers=AUTH).json()
    assert recalc["job"] == "vis_daily_job" and recalc["partitions"] == [YESTERDAY.isoformat()]
    assert [(s, e, st) for s, e, _, st in inbox(engine)] == [
        ("manual", "finops_aggregate", "received"),
        ("manual", "analytics_sync", "received"),
        ("manual", "recalculate", "received"),
    ]


def last_seq(nats) -> int:
    async def read() -> int:
        async with nats.jetstream() as (_, js):
            return (await js.stream_info(STREAM_NAME)).state.last_seq

    return run_sync(read())


def test_the_trigger_sensor_runs_each_partition_and_the_status_shows_the_runs(
    client, engine, nats, postgres, tmp_path, monkeypatch
):
    seed.load_postgres(engine, seed.generate(0.05, 3, seed.default_anchor()))
    with engine.connect() as connection:
        campaign_id = connection.execute(sa.text("SELECT id::text FROM campaigns ORDER BY id LIMIT 1")).scalar_one()
    start = last_seq(nats)
    snapshot = client.post(f"/v1/campaigns/{campaign_id}/snapshot", headers=AUTH).json()
    finops = client.post(
        "/v1/analytics/finops/aggregate", json={"fromDate": "2026-01-01", "toDate": "2026-01-02"}, headers=AUTH
    ).json()
    assert relay_inbox(engine, nats).published == 2

    context = dg.build_sensor_context(
        cursor=str(start), resources={"nats": nats, "postgres": postgres}, instance=dg.DagsterInstance.ephemeral()
    )
    result = nats_pipelines_trigger_sensor(context)
    keys = sorted(request.run_key for request in result.run_requests)
    assert keys == sorted(
        [
            f"manual:{snapshot['requestId']}:run",
            f"manual:{finops['requestId']}:2026-01-01",
            f"manual:{finops['requestId']}:2026-01-02",
        ]
    )
    assert int(result.cursor) == start + 2
    assert {r[3] for r in inbox(engine)} == {"processed"}

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    request = next(r for r in result.run_requests if r.job_name == "campaign_snapshot_job")
    run = campaign_snapshot_job.execute_in_process(
        run_config=request.run_config,
        resources={"postgres": postgres},
        tags=request.tags,
        instance=dg.DagsterInstance.get(),
    )
    assert run.success
    status = client.get(f"/v1/pipelines/requests/{snapshot['requestId']}", headers=AUTH).json()
    assert status["status"] == "processed" and status["job"] == "campaign_snapshot_job"
    assert [r["status"] for r in status["runs"]] == ["SUCCESS"]
    assert status["summary"] == {"expected": 1, "launched": 1, "byStatus": {"SUCCESS": 1}}
    assert client.get(f"/v1/pipelines/requests/{uuid.uuid4()}", headers=AUTH).status_code == 404
    with engine.connect() as connection:
        snapshots = connection.execute(
            sa.text("SELECT count(*) FROM campaign_metrics_snapshots WHERE campaign_id = :c"), {"c": campaign_id}
        ).scalar_one()
    assert snapshots >= 1


def test_every_planned_run_config_is_valid_for_its_job(monkeypatch):
    """The configs triggers and sensors hand to Dagster match the jobs' schemas (a typo would only fail at launch)."""
    from teei_pipelines.definitions import defs
    from teei_pipelines.defs.events import nats_sensors
    from teei_pipelines.domain import triggers

    monkeypatch.setenv("DATABASE_URL", "postgresql://user@127.0.0.1/none")
    today = datetime.now(UTC).date()
    plans = [
        triggers.plan_recalculate({"user_id": "u-1"}, today, today - timedelta(days=30)),
        triggers.plan_campaign_snapshot(str(uuid.uuid4())),
        triggers.plan_finops({"fromDate": "2026-01-01", "toDate": "2026-01-01"}, today, today - timedelta(days=3650)),
    ]
    configs = [(plan.job, plan.run_config) for plan in plans]
    batch = nats_sensors.Batch("user.profile.updated", [])
    configs += [
        (target.job, target.run_config)
        for target in (nats_sensors.events_run(batch), nats_sensors.evidence_run(["s-1"], {"s-1": "text"}))
    ]
    for job_name, run_config in configs:
        assert dg.validate_run_config(defs.resolve_job_def(job_name), run_config), job_name
