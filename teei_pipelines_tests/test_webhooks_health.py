"""The receiver's /health reports PostgreSQL and NATS, and answers 503 when PostgreSQL is down."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

from starlette.testclient import TestClient

from teei_pipelines.webhooks.app import create_app
from teei_pipelines_tests.test_source_webhooks import COMPLETED, kintell_headers


def test_health_is_ok_when_both_services_answer(database_url, nats_url):
    with TestClient(create_app(database_url, nats_url)) as client:
        response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "db": "ok", "nats": "ok"}


def test_health_is_503_when_postgres_is_unreachable(tmp_path, nats_url):
    with TestClient(create_app(f"postgresql://postgres@/teei?host={tmp_path}", nats_url)) as client:
        response = client.get("/health")
    assert response.status_code == 503
    body = response.json()
    assert body["db"].startswith("error") and body["nats"] == "ok" and body["status"] == "degraded"


def test_health_degrades_but_stays_200_when_only_nats_is_down(database_url):
    with TestClient(create_app(database_url, "nats://127.0.0.1:1")) as client:
        response = client.get("/health")
    assert response.status_code == 200
    assert response.json()["nats"].startswith("error") and response.json()["status"] == "degraded"


def test_unknown_route_is_a_json_404(database_url, nats_url):
    with TestClient(create_app(database_url, nats_url)) as client:
        response = client.post("/webhooks/nope", content=b"{}")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_a_database_outage_answers_every_waiting_webhook_503_never_hangs(tmp_path, nats_url, monkeypatch):
    """More concurrent requests than inbox connections while PostgreSQL is unreachable: each gets a prompt 503."""
    monkeypatch.setenv("KINTELL_WEBHOOK_SECRET", "kintell-secret")
    monkeypatch.setenv("WEBHOOK_DB_CONNECTIONS", "2")
    app = create_app(f"postgresql://postgres@/teei?host={tmp_path}", nats_url, relay_interval_s=0)
    with TestClient(app) as client:

        def post(index: int) -> int:
            body = json.dumps({**COMPLETED, "session_id": f"s-{index}"}).encode()
            headers = kintell_headers(body, delivery=f"d-{index}")
            return client.post("/v1/webhooks/session-completed", content=body, headers=headers).status_code

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=12) as pool:
            statuses = list(pool.map(post, range(12)))
    assert statuses == [503] * 12
    assert time.monotonic() - started < 30
