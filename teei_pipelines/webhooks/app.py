"""ASGI app: `create_app()`; started by `teei-pipelines webhooks` and by `make run`.

Routes: `GET /health` (events-webhooks.md §1): 200 {status, db, nats}, 503 when PostgreSQL is unreachable; the
Kintell and partner webhooks (`webhooks/sources.py`); the provider delivery-status webhooks
(`webhooks/delivery.py`); the manual triggers and their status (`webhooks/triggers.py`); the DLQ
(`webhooks/dlq.py`). Unknown routes answer 404 with a JSON error. A background task relays stored requests and
domain events to JetStream.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from teei_pipelines.outbox import RelayReport, relay_inbox, relay_outbox
from teei_pipelines.pgio import libpq_uri
from teei_pipelines.resources.nats import NatsResource
from teei_pipelines.resources.postgres import engine_for
from teei_pipelines.settings import env, env_int
from teei_pipelines.webhooks.delivery import delivery_routes
from teei_pipelines.webhooks.dlq import dlq_routes
from teei_pipelines.webhooks.pipeline import AsyncInbox
from teei_pipelines.webhooks.sources import source_routes
from teei_pipelines.webhooks.triggers import trigger_routes

log = logging.getLogger(__name__)
RELAY_BATCH = 100  # small passes keep the relay from holding the GIL long enough to delay requests
RELAY_MAX_BACKOFF_S = 10.0


def _check_db(engine: sa.Engine) -> str:
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        return "ok"
    except Exception as exc:
        return f"error: {type(exc).__name__}"


async def _check_nats(nats: NatsResource) -> str:
    try:
        async with nats.jetstream() as (_, js):
            await js.account_info()
        return "ok"
    except Exception as exc:
        return f"error: {type(exc).__name__}"


async def relay_forever(engine: sa.Engine, nats: NatsResource, interval_s: float) -> None:
    """The receiver's background relay (events-webhooks.md §4): inbox rows, then outbox rows, to JetStream every
    interval; a full batch goes again at once; errors back off up to 10 s and retry forever (nothing is lost:
    unpublished rows stay in PostgreSQL)."""
    backoff = interval_s
    while True:
        try:
            inbox = await asyncio.to_thread(relay_inbox, engine, nats, RELAY_BATCH)
            outbox = await asyncio.to_thread(relay_outbox, engine, nats, RELAY_BATCH)
        except Exception as exc:  # the database may be down: keep the task alive
            inbox = outbox = RelayReport(0, 0, 1, f"{type(exc).__name__}: {exc}")
        error = inbox.error or outbox.error
        if error:
            log.warning("relay: %s (retrying in %.1f s)", error, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, RELAY_MAX_BACKOFF_S)
            continue
        backoff = interval_s
        busy = inbox.published + inbox.duplicates >= RELAY_BATCH or outbox.published + outbox.duplicates >= RELAY_BATCH
        if not busy:
            await asyncio.sleep(interval_s)


def create_app(
    database_url: str | None = None, nats_url: str | None = None, relay_interval_s: float | None = None
) -> Starlette:
    """The receiver. `relay_interval_s` = 0 turns the background relay off (tests of the request path)."""
    engine = engine_for(database_url or env("DATABASE_URL"))
    nats = NatsResource(url=nats_url or env("NATS_URL"), connect_timeout_s=1.0)
    if relay_interval_s is None:
        relay_interval_s = env_int("WEBHOOK_RELAY_INTERVAL_MS", 500, minimum=0) / 1000

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        app.state.inbox = AsyncInbox(libpq_uri(engine), env_int("WEBHOOK_DB_CONNECTIONS", 8, minimum=1))
        task = asyncio.create_task(relay_forever(engine, nats, relay_interval_s)) if relay_interval_s else None
        yield
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await app.state.inbox.close()

    async def health(_: Request) -> JSONResponse:
        db_status, nats_status = await asyncio.gather(asyncio.to_thread(_check_db, engine), _check_nats(nats))
        healthy = db_status == "ok"
        body = {
            "status": "ok" if healthy and nats_status == "ok" else "degraded",
            "db": db_status,
            "nats": nats_status,
        }
        return JSONResponse(body, status_code=200 if healthy else 503)

    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        messages = {404: "not_found", 405: "method_not_allowed"}
        return JSONResponse(
            {"error": messages.get(exc.status_code, "http_error"), "details": exc.detail},
            status_code=exc.status_code,
        )

    routes = [
        Route("/health", health, methods=["GET"]),
        *source_routes(engine),
        *delivery_routes(engine),
        *dlq_routes(engine),
        *trigger_routes(engine),
    ]
    return Starlette(routes=routes, exception_handlers={HTTPException: http_error}, lifespan=lifespan)
