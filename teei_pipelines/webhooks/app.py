"""ASGI app: `create_app()`; started by `teei-pipelines webhooks` and by `make run`.

Routes: `GET /health` (events-webhooks.md §1): 200 {status, db, nats}, 503 when PostgreSQL is unreachable; the
provider delivery-status webhooks (`webhooks/delivery.py`). Unknown routes answer 404 with a JSON error.
"""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from teei_pipelines.resources.nats import NatsResource
from teei_pipelines.resources.postgres import engine_for
from teei_pipelines.settings import env
from teei_pipelines.webhooks.delivery import delivery_routes


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


def create_app(database_url: str | None = None, nats_url: str | None = None) -> Starlette:
    engine = engine_for(database_url or env("DATABASE_URL"))
    nats = NatsResource(url=nats_url or env("NATS_URL"), connect_timeout_s=1.0)

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

    routes = [Route("/health", health, methods=["GET"]), *delivery_routes(engine)]
    return Starlette(routes=routes, exception_handlers={HTTPException: http_error})
