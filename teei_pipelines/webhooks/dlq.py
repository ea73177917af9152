"""Dead-letter ops endpoints (events-webhooks.md §4), bearer TRIGGER_API_TOKEN like the manual triggers:
`GET /v1/webhooks/dlq?limit=100` lists dead inbox rows with stats; `POST /v1/webhooks/dlq/{source}/{deliveryId}/replay`
sends one back through the relay and its processing job."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from teei_pipelines.pgio import query
from teei_pipelines.webhooks.pipeline import error
from teei_pipelines.webhooks.triggers import authorize


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def dlq_list(engine: sa.Engine):
    async def endpoint(request: Request) -> JSONResponse:
        denied = authorize(request)
        if denied is not None:
            return denied
        raw = request.query_params.get("limit", "100")
        if not raw.isdigit() or not 1 <= int(raw) <= 1000:
            return JSONResponse({"error": "invalid_request", "message": "limit must be 1..1000"}, status_code=400)

        def load():
            with engine.connect() as connection:
                rows = connection.execute(sa.text(query("webhooks/dlq_list")), {"limit": int(raw)}).all()
                stats = connection.execute(sa.text(query("webhooks/dlq_stats"))).one()
            return rows, stats

        try:
            rows, stats = await asyncio.to_thread(load)
        except sa.exc.SQLAlchemyError:
            return error(503, "unavailable")
        messages = [
            {
                "inboxId": row.id,
                "source": row.source,
                "eventType": row.event_type,
                "deliveryId": row.delivery_id,
                "retryCount": row.attempts,
                "lastError": row.last_error,
                "originalTimestamp": _iso(row.received_at),
                "dlqTimestamp": _iso(row.processed_at),
                "replays": row.replay_count,
            }
            for row in rows
        ]
        return JSONResponse(
            {
                "messages": messages,
                "stats": {
                    "totalMessages": stats.total,
                    "oldestMessage": _iso(stats.oldest),
                    "newestMessage": _iso(stats.newest),
                    "byEventType": stats.by_event_type,
                },
            }
        )

    return endpoint


def dlq_replay(engine: sa.Engine):
    async def endpoint(request: Request) -> JSONResponse:
        denied = authorize(request)
        if denied is not None:
            return denied
        params = {"source": request.path_params["source"], "delivery_id": request.path_params["delivery_id"]}

        def replay():
            with engine.begin() as connection:
                return connection.execute(sa.text(query("webhooks/dlq_replay")), params).first()

        try:
            row = await asyncio.to_thread(replay)
        except sa.exc.SQLAlchemyError:
            return error(503, "unavailable")
        if row is None:
            return JSONResponse(
                {"error": "not_found", "message": f"no dead {params['source']} delivery {params['delivery_id']}"}, 404
            )
        return JSONResponse({"status": "replayed", "inboxId": row.id, "replay": row.replay_count}, status_code=202)

    return endpoint


def dlq_routes(engine: sa.Engine) -> list[Route]:
    return [
        Route("/v1/webhooks/dlq", dlq_list(engine), methods=["GET"]),
        Route("/v1/webhooks/dlq/{source}/{delivery_id}/replay", dlq_replay(engine), methods=["POST"]),
    ]
