"""Kintell and partner webhooks (events-webhooks.md §1-§3, §5): the request schemas and the routes. Each verifies
its scheme on the raw bytes, fails closed without its secret and is stored in webhook_inbox by the shared
pipeline; processing happens later, never in the request."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Literal

import pydantic
import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from teei_pipelines.domain import signatures
from teei_pipelines.settings import env
from teei_pipelines.webhooks.pipeline import Context, Delivery, PayloadError, receive, tolerance_s

PARTNER_INVALID = {"error": "Invalid webhook payload"}
Email = pydantic.constr(pattern=r"^[^@\s]+@[^@\s]+$", max_length=255)


class _Body(BaseModel):
    model_config = ConfigDict(extra="allow")


class _KintellSession(_Body):
    session_type: Literal["language", "mentorship"]
    participant_email: Email  # type: ignore[valid-type]
    volunteer_email: Email  # type: ignore[valid-type]
    scheduled_at: datetime


class SessionCompleted(_KintellSession):
    session_id: str = Field(min_length=1)
    completed_at: datetime
    duration_minutes: int = Field(gt=0)
    topics: list[str] | None = None
    language_level: Literal["A1", "A2", "B1", "B2", "C1", "C2"] | None = None


class SessionScheduled(_KintellSession):
    booking_id: str = Field(min_length=1)


class RatingCreated(_Body):
    rating_id: str = Field(min_length=1)
    session_id: str = Field(min_length=1)
    from_role: Literal["participant", "volunteer"]
    rating: float = Field(ge=0, le=1)
    feedback_text: str | None = None
    created_at: datetime


class BenevityCallback(_Body):
    event_type: Literal["delivery.success", "delivery.failed", "delivery.retry"]
    transaction_id: str = Field(min_length=1)
    organization_id: str
    status: str
    timestamp: str
    error_message: str | None = None


class GooderaCallback(_Body):
    """Field names are the partner's (camelCase)."""

    eventType: Literal["data.received", "data.processed", "data.failed"]
    transactionId: str = Field(min_length=1)
    projectId: str
    status: Literal["success", "failed", "processing"]
    recordsProcessed: int | None = None
    error: str | None = None
    timestamp: str


class WorkdayCallback(_Body):
    eventType: Literal["activity.created", "activity.updated", "enrollment.confirmed"]
    activityId: str | None = None
    enrollmentId: str | None = None
    status: Literal["success", "error"]
    message: str | None = None
    timestamp: str


def _validate(model: type[BaseModel], body: bytes) -> BaseModel:
    try:
        return model.model_validate_json(body)
    except pydantic.ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors()[:5])
        raise PayloadError(problems) from None


# Kintell ---------------------------------------------------------------------------------------------------------


def verify_kintell(context: Context) -> None:
    """Check order of §3: header missing 401, X-Delivery-Id missing 400, then parse, window and match (401)."""
    header = context.request.headers.get("x-kintell-signature")
    if not header:
        raise signatures.SignatureError("X-Kintell-Signature header missing")
    if not context.request.headers.get("x-delivery-id"):
        raise PayloadError("X-Delivery-Id header is required")
    signatures.verify_kintell(
        context.secrets["KINTELL_WEBHOOK_SECRET"], header, context.body, context.now, tolerance_s()
    )


def kintell_parser(model: type[BaseModel], event_type: str):
    def parse(context: Context) -> Delivery:
        _validate(model, context.body)
        return Delivery(
            "kintell", event_type, context.request.headers["x-delivery-id"], f"webhooks.kintell.{event_type}"
        )

    return parse


# Partners ----------------------------------------------------------------------------------------------------------


def body_digest(context: Context) -> str:
    return hashlib.sha256(context.body).hexdigest()


def verify_benevity(context: Context) -> None:
    signatures.verify_hex_hmac(
        context.secrets["BENEVITY_WEBHOOK_SECRET"],
        context.request.headers.get("x-benevity-signature"),
        context.body,
        "X-Benevity-Signature",
    )


def partner_auth(partner: str) -> tuple[str, tuple[str, ...]]:
    """GOODERA_WEBHOOK_AUTH / WORKDAY_WEBHOOK_AUTH: hmac (default) needs the secret, bearer the token."""
    mode = env(f"{partner.upper()}_WEBHOOK_AUTH", "hmac").strip().lower()
    name = f"{partner.upper()}_WEBHOOK_TOKEN" if mode == "bearer" else f"{partner.upper()}_WEBHOOK_SECRET"
    return mode, (name,)


def partner_verifier(partner: str, mode: str):
    def verify(context: Context) -> None:
        if mode == "bearer":
            signatures.verify_bearer(
                context.secrets[f"{partner.upper()}_WEBHOOK_TOKEN"], context.request.headers.get("authorization")
            )
        else:
            header = f"x-{partner}-signature"
            signatures.verify_hex_hmac(
                context.secrets[f"{partner.upper()}_WEBHOOK_SECRET"],
                context.request.headers.get(header),
                context.body,
                f"X-{partner.capitalize()}-Signature",
            )

    return verify


def partner_parser(partner: str, model: type[BaseModel], event_field: str):
    def parse(context: Context) -> Delivery:
        body = _validate(model, context.body)
        return Delivery(partner, getattr(body, event_field), body_digest(context), f"webhooks.partner.{partner}")

    return parse


def source_routes(engine: sa.Engine) -> list[Route]:
    def kintell(model: type[BaseModel], event_type: str):
        parse = kintell_parser(model, event_type)

        async def endpoint(request: Request) -> JSONResponse:
            return await receive(
                request, engine, secret_names=("KINTELL_WEBHOOK_SECRET",), verify=verify_kintell, parse=parse
            )

        return endpoint

    async def benevity(request: Request) -> JSONResponse:
        return await receive(
            request,
            engine,
            secret_names=("BENEVITY_WEBHOOK_SECRET",),
            verify=verify_benevity,
            parse=partner_parser("benevity", BenevityCallback, "event_type"),
            invalid_payload=PARTNER_INVALID,
        )

    def partner(name: str, model: type[BaseModel]):
        async def endpoint(request: Request) -> JSONResponse:
            mode, secret_names = partner_auth(name)
            if mode not in ("hmac", "bearer"):
                return JSONResponse({"error": "not_configured"}, status_code=503)
            return await receive(
                request,
                engine,
                secret_names=secret_names,
                verify=partner_verifier(name, mode),
                parse=partner_parser(name, model, "eventType"),
                invalid_payload=PARTNER_INVALID,
            )

        return endpoint

    scheduled = kintell(SessionScheduled, "session_scheduled")
    return [
        Route("/v1/webhooks/session-completed", kintell(SessionCompleted, "session_completed"), methods=["POST"]),
        Route("/v1/webhooks/session-scheduled", scheduled, methods=["POST"]),
        Route("/v1/webhooks/booking-confirmed", scheduled, methods=["POST"]),
        Route("/v1/webhooks/rating-created", kintell(RatingCreated, "rating_created"), methods=["POST"]),
        Route("/webhooks/benevity", benevity, methods=["POST"]),
        Route("/webhooks/goodera", partner("goodera", GooderaCallback), methods=["POST"]),
        Route("/webhooks/workday", partner("workday", WorkdayCallback), methods=["POST"]),
    ]
