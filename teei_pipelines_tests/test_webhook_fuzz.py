"""Property test: random bodies and headers thrown at every receiver route never get a 5xx (client input is a
4xx, never a crash), and nothing unverified is stored."""

from __future__ import annotations

import base64
import os

import psycopg
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from teei_pipelines.resources.postgres import engine_for
from teei_pipelines.webhooks.app import create_app

ROUTES = [
    "/v1/webhooks/session-completed",
    "/v1/webhooks/session-scheduled",
    "/v1/webhooks/booking-confirmed",
    "/v1/webhooks/rating-created",
    "/webhooks/benevity",
    "/webhooks/goodera",
    "/webhooks/workday",
    "/v1/notifications/webhooks/sendgrid",
    "/v1/notifications/webhooks/resend",
    "/v1/notifications/webhooks/twilio",
]
SECRETS = {
    "KINTELL_WEBHOOK_SECRET": "k",
    "BENEVITY_WEBHOOK_SECRET": "b",
    "GOODERA_WEBHOOK_SECRET": "g",
    "WORKDAY_WEBHOOK_SECRET": "w",
    "RESEND_WEBHOOK_SECRET": "whsec_c2VjcmV0",
    # a real P-256 public key, so requests reach the ECDSA verification itself
    "SENDGRID_WEBHOOK_VERIFICATION_KEY": base64.b64encode(
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    ).decode(),
    "TWILIO_AUTH_TOKEN": "t",
}
HEADER_NAMES = [
    "X-Kintell-Signature",
    "X-Delivery-Id",
    "X-Benevity-Signature",
    "X-Goodera-Signature",
    "X-Workday-Signature",
    "Authorization",
    "svix-id",
    "svix-timestamp",
    "svix-signature",
    "X-Twilio-Email-Event-Webhook-Signature",
    "X-Twilio-Email-Event-Webhook-Timestamp",
    "X-Twilio-Signature",
    "Content-Type",
    "Content-Length",
]
header_values = st.one_of(
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=80),
    st.sampled_from(["t=1,v1=00", "sha256=zz", "v1,AAAA", "Bearer x", "0", "-1", "99999999999", "application/json"]),
)


@pytest.fixture(scope="module")
def client(pg_server, nats_url):
    # one database for the module: hypothesis calls the test many times with the same fixtures
    name = f"fuzz_{os.getpid()}"
    with psycopg.connect(pg_server.get_uri(), autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name}")
        connection.execute(f"CREATE DATABASE {name} TEMPLATE teei_template")
    url = pg_server.get_uri(name)
    saved = {key: os.environ.get(key) for key in SECRETS}
    os.environ.update(SECRETS)
    try:
        with TestClient(create_app(url, nats_url, relay_interval_s=0), raise_server_exceptions=False) as test_client:
            yield test_client, sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        engine_for(url).dispose()
        with psycopg.connect(pg_server.get_uri(), autocommit=True) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    route=st.sampled_from(ROUTES),
    body=st.one_of(st.binary(max_size=600), st.text(max_size=300).map(str.encode)),
    headers=st.dictionaries(st.sampled_from(HEADER_NAMES), header_values, max_size=6),
)
def test_random_requests_never_get_a_server_error(client, route, body, headers):
    test_client, _ = client
    headers.pop("Content-Length", None)  # the client sets it; a wrong one is a transport error, not a request
    response = test_client.post(route, content=body, headers=headers)
    assert response.status_code < 500, (route, headers, body[:80], response.text)
    assert response.headers["content-type"].startswith("application/json")


def test_nothing_unverified_was_stored(client):
    """Runs after the property test (file order) on the same database."""
    _, engine = client
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM webhook_inbox")).scalar_one() == 0
    engine.dispose()
