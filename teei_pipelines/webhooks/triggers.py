"""Manual triggers (events-webhooks.md §9): bearer-authenticated requests, validated into a plan (job and
partitions), stored in webhook_inbox (source `manual`) and relayed to `pipelines.trigger.<name>`, where
`nats_pipelines_trigger_sensor` launches one run per partition. `GET /v1/pipelines/requests/{requestId}` shows the
request with its runs and their status. An `Idempotency-Key` header makes a client's retry the same request.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import uuid
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from teei_pipelines.domain import triggers
from teei_pipelines.pgio import query
from teei_pipelines.settings import env, env_int, partition_start
from teei_pipelines.webhooks.pipeline import STORE_ERRORS, Delivery, error, max_body_bytes, read_body, store_request

REQUEST_TAG = "teei/request_id"


def authorize(request: Request) -> JSONResponse | None:
    """Bearer TRIGGER_API_TOKEN, compared in constant time; without the setting every call is 503."""
    token = env("TRIGGER_API_TOKEN", "")
    if not token:
        return error(503, "not_configured", "TRIGGER_API_TOKEN is not set")
    header = request.headers.get("authorization", "")
    scheme, _, presented = header.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(presented.strip().encode(), token.encode()):
        return error(401, "unauthorized")
    return None


def _sync_lag_minutes() -> int:
    return env_int("ANALYTICS_SYNC_LAG_MINUTES", 5, minimum=0)


def plan_for(trigger: str, body: Any, path_params: dict[str, str]) -> triggers.TriggerPlan:
    now = datetime.now(UTC)
    if trigger == "recalculate":
        return triggers.plan_recalculate(body, now.date(), partition_start())
    if trigger == "campaign_snapshot":
        return triggers.plan_campaign_snapshot(path_params["campaign_id"])
    if trigger == "analytics_sync":
        first = datetime.combine(partition_start(), datetime.min.time(), tzinfo=UTC)
        return triggers.plan_analytics_sync(body, now, timedelta(minutes=_sync_lag_minutes()), first)
    return triggers.plan_finops(body, now.date(), partition_start())


def _campaign_exists(engine: sa.Engine, campaign_id: str) -> bool:
    with engine.connect() as connection:
        return connection.execute(sa.text(query("triggers/campaign_exists")), {"id": campaign_id}).scalar_one()


def trigger_endpoint(engine: sa.Engine, trigger: str):
    async def endpoint(request: Request) -> JSONResponse:
        denied = authorize(request)
        if denied is not None:
            return denied
        raw = await read_body(request, max_body_bytes())
        if raw is None:
            return error(413, "payload_too_large")
        try:
            body = json.loads(raw) if raw.strip() else None
        except (ValueError, UnicodeDecodeError):
            return JSONResponse({"error": "invalid_request", "message": "the body is not JSON"}, status_code=400)
        try:
            plan = plan_for(trigger, body, dict(request.path_params))
        except triggers.TriggerError as exc:
            return JSONResponse({"error": exc.error, "message": str(exc)}, status_code=400)
        if trigger == "campaign_snapshot":
            campaign_id = plan.run_config["ops"]["campaign_snapshot"]["config"]["campaign_id"]
            try:
                exists = await asyncio.to_thread(_campaign_exists, engine, campaign_id)
            except sa.exc.SQLAlchemyError:
                return error(503, "unavailable")
            if not exists:
                return JSONResponse({"error": "not_found", "message": f"campaign {campaign_id} does not exist"}, 404)
        key = request.headers.get("idempotency-key", "").strip()
        if len(key) > 200:
            return JSONResponse({"error": "invalid_request", "message": "Idempotency-Key is too long"}, 400)
        request_id = key or str(uuid.uuid4())
        stored_body = json.dumps({"request": body, "plan": plan.to_json()}, sort_keys=True).encode()
        delivery = Delivery("manual", trigger, request_id, f"pipelines.trigger.{trigger}")
        try:
            outcome, _ = await store_request(engine, request, stored_body, delivery)
        except STORE_ERRORS:
            return error(503, "unavailable")
        if outcome == "conflict":
            return error(409, "idempotency_key_conflict", "this Idempotency-Key was used for a different request")
        answer = {
            "status": "accepted" if outcome == "accepted" else "duplicate",
            "requestId": request_id,
            "job": plan.job,
            "partitions": plan.partitions,
        }
        return JSONResponse(answer, status_code=202 if outcome == "accepted" else 200)

    return endpoint


@cache
def _instance():
    import dagster as dg

    return dg.DagsterInstance.get()


def runs_for(request_id: str) -> list[dict[str, Any]] | None:
    """The Dagster runs tagged with the request id; None when this process has no DAGSTER_HOME."""
    if not env("DAGSTER_HOME", ""):
        return None
    import dagster as dg

    records = _instance().get_run_records(dg.RunsFilter(tags={REQUEST_TAG: request_id}))
    return sorted(
        (
            {
                "runId": record.dagster_run.run_id,
                "job": record.dagster_run.job_name,
                "partition": record.dagster_run.tags.get("dagster/partition"),
                "status": record.dagster_run.status.value,
                "startTime": record.start_time,
                "endTime": record.end_time,
            }
            for record in records
        ),
        key=lambda run: (run["partition"] or "", run["runId"]),
    )


def request_status(engine: sa.Engine):
    async def endpoint(request: Request) -> JSONResponse:
        denied = authorize(request)
        if denied is not None:
            return denied
        request_id = request.path_params["request_id"]

        def load():
            with engine.connect() as connection:
                return connection.execute(sa.text(query("triggers/request_by_id")), {"id": request_id}).first()

        try:
            row = await asyncio.to_thread(load)
        except sa.exc.SQLAlchemyError:
            return error(503, "unavailable")
        if row is None:
            return JSONResponse({"error": "not_found", "message": f"no request {request_id}"}, status_code=404)
        plan = json.loads(bytes(row.raw_body))["plan"]
        runs = await asyncio.to_thread(runs_for, request_id)
        by_status: dict[str, int] = {}
        for run in runs or []:
            by_status[run["status"]] = by_status.get(run["status"], 0) + 1
        return JSONResponse(
            {
                "requestId": request_id,
                "trigger": row.event_type,
                "status": row.status,
                "receivedAt": row.received_at.isoformat(),
                "job": plan["job"],
                "partitions": plan["partitions"],
                "runs": runs,
                "summary": {"expected": len(plan["partitions"]), "launched": len(runs or []), "byStatus": by_status},
            }
        )

    return endpoint


def trigger_routes(engine: sa.Engine) -> list[Route]:
    return [
        Route("/v1/impact-calculator/recalculate", trigger_endpoint(engine, "recalculate"), methods=["POST"]),
        Route("/v1/campaigns/{campaign_id}/snapshot", trigger_endpoint(engine, "campaign_snapshot"), methods=["POST"]),
        Route("/v1/analytics/sync", trigger_endpoint(engine, "analytics_sync"), methods=["POST"]),
        Route("/v1/analytics/finops/aggregate", trigger_endpoint(engine, "finops_aggregate"), methods=["POST"]),
        Route("/v1/pipelines/requests/{request_id}", request_status(engine), methods=["GET"]),
    ]
