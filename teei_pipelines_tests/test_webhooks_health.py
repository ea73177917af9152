"""The receiver's /health reports PostgreSQL and NATS, and answers 503 when PostgreSQL is down."""

from __future__ import annotations

from starlette.testclient import TestClient

from teei_pipelines.webhooks.app import create_app


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
