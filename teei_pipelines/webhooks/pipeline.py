"""The request pipeline every webhook route shares (events-webhooks.md §2): size limit → the source's secret is
configured (fail closed) → signature over the raw bytes → parse → delivery id → webhook_inbox → response.
Processing never happens inside the request; a replay is answered without a second row."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import JSONResponse

from teei_pipelines.domain.signatures import SignatureError
from teei_pipelines.pgio import query
from teei_pipelines.settings import env, env_int

# Headers worth keeping with the raw body: enough to re-verify or debug, never credentials.
KEPT_HEADERS = (
    "content-type",
    "user-agent",
    "svix-id",
    "svix-timestamp",
    "x-twilio-email-event-webhook-timestamp",
    "i-twilio-idempotency-token",
    "x-delivery-id",
)


class PayloadError(ValueError):
    """The body does not parse or does not match the route's schema (400)."""


@dataclass(frozen=True)
class Delivery:
    """What a verified, parsed request turns into."""

    source: str
    event_type: str
    delivery_id: str
    subject: str


@dataclass(frozen=True)
class Context:
    request: Request
    body: bytes
    secrets: dict[str, str]
    now: float


def max_body_bytes() -> int:
    return env_int("WEBHOOK_MAX_BODY_BYTES", 1_048_576, minimum=1)


def tolerance_s() -> int:
    return env_int("WEBHOOK_TIMESTAMP_TOLERANCE_S", 300, minimum=1)


def error(status: int, code: str, details: str | None = None) -> JSONResponse:
    body: dict[str, Any] = {"error": code}
    if details:
        body["details"] = details
    return JSONResponse(body, status_code=status)


async def read_body(request: Request, limit: int) -> bytes | None:
    """The raw body, or None when it exceeds the limit (checked before and while reading)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


def inbox_params(request: Request, body: bytes, delivery: Delivery) -> dict[str, Any]:
    headers = {name: request.headers[name] for name in KEPT_HEADERS if name in request.headers}
    return {
        "source": delivery.source,
        "endpoint": request.url.path,
        "event_type": delivery.event_type,
        "delivery_id": delivery.delivery_id,
        "headers": json.dumps(headers),
        "raw_body": body,
        "body_sha256": hashlib.sha256(body).hexdigest(),
        "content_type": request.headers.get("content-type"),
        "nats_subject": delivery.subject,
    }


def store(engine: sa.Engine, request: Request, body: bytes, delivery: Delivery) -> tuple[str, str]:
    """Insert into webhook_inbox; returns (outcome, inbox id) with outcome accepted, duplicate or conflict."""
    params = inbox_params(request, body, delivery)
    with engine.begin() as connection:
        inserted = connection.execute(sa.text(query("webhooks/inbox_insert")), params).scalar()
        if inserted is not None:
            return "accepted", inserted
        existing = connection.execute(sa.text(query("webhooks/inbox_existing")), params).one()
    return ("duplicate" if existing.body_sha256 == params["body_sha256"] else "conflict"), existing.id


_BIND = re.compile(r"(?<![:\w]):([a-z_][a-z0-9_]*)")


def psycopg_query(name: str) -> str:
    """A query file with SQLAlchemy's `:name` binds rewritten to psycopg's `%(name)s` (`::` casts untouched)."""
    return _BIND.sub(r"%(\1)s", query(name))


class AsyncInbox:
    """webhook_inbox writes from the event loop (events-webhooks.md §2 step 6): up to `size` autocommit psycopg
    connections, so storing a request is one round trip with no thread hop. The relay and the processing jobs keep
    using SQLAlchemy; this is only the hot path of the receiver. A semaphore bounds the connections, so a database
    outage fails each waiting request (503) instead of leaving it queued behind connections that will never return.
    """

    def __init__(self, dsn: str, size: int) -> None:
        self.dsn = dsn
        self._slots = asyncio.Semaphore(size)
        self._idle: list[psycopg.AsyncConnection] = []
        self._insert = psycopg_query("webhooks/inbox_insert")
        self._existing = psycopg_query("webhooks/inbox_existing")

    async def _connection(self) -> psycopg.AsyncConnection:
        while self._idle:
            connection = self._idle.pop()
            if not (connection.closed or connection.broken):
                return connection
        return await psycopg.AsyncConnection.connect(self.dsn, autocommit=True, connect_timeout=5)

    async def store(self, request: Request, body: bytes, delivery: Delivery) -> tuple[str, str]:
        params = inbox_params(request, body, delivery)
        async with self._slots:
            connection = await self._connection()
            try:
                inserted = await (await connection.execute(self._insert, params)).fetchone()
                if inserted is not None:
                    outcome = ("accepted", inserted[0])
                else:
                    existing = await (await connection.execute(self._existing, params)).fetchone()
                    outcome = ("duplicate" if existing[1] == params["body_sha256"] else "conflict", existing[0])
            except BaseException:
                await connection.close()  # a broken connection is dropped; the next request opens a fresh one
                raise
            self._idle.append(connection)
            return outcome

    async def close(self) -> None:
        while self._idle:
            await self._idle.pop().close()


async def store_request(engine: sa.Engine, request: Request, body: bytes, delivery: Delivery) -> tuple[str, str]:
    """Store through the app's AsyncInbox when the app runs one (its lifespan opens it), else in a thread."""
    inbox = getattr(request.app.state, "inbox", None)
    if inbox is not None:
        return await inbox.store(request, body, delivery)
    return await asyncio.to_thread(store, engine, request, body, delivery)


STORE_ERRORS = (sa.exc.SQLAlchemyError, psycopg.Error, OSError)


async def receive(
    request: Request,
    engine: sa.Engine,
    *,
    secret_names: tuple[str, ...],
    verify: Callable[[Context], None],
    parse: Callable[[Context], Delivery],
    invalid_payload: dict[str, str] | None = None,
) -> JSONResponse:
    """Run the pipeline. `invalid_payload` replaces the 400 body (the partner routes keep the original's)."""
    body = await read_body(request, max_body_bytes())
    if body is None:
        return error(413, "payload_too_large")
    secrets = {name: env(name, "") for name in secret_names}
    if not all(secrets.values()):
        return error(503, "not_configured")
    context = Context(request, body, secrets, time.time())
    try:
        verify(context)
        delivery = parse(context)
    except SignatureError:
        return error(401, "invalid_signature")
    except PayloadError as exc:  # also raised by a verifier for a required non-signature header
        return (
            JSONResponse(invalid_payload, status_code=400)
            if invalid_payload
            else error(400, "invalid_payload", str(exc))
        )
    try:
        outcome, _ = await store_request(engine, request, body, delivery)
    except STORE_ERRORS:
        return error(503, "unavailable")
    if outcome == "conflict":
        return error(409, "delivery_id_conflict")
    status = {"accepted": 202, "duplicate": 200}[outcome]
    return JSONResponse({"status": outcome, "deliveryId": delivery.delivery_id}, status_code=status)
