"""Delivery-status webhooks from the e-mail and SMS providers (notifications.md §8, events-webhooks.md §1-§3):
SendGrid (ECDSA P-256), Resend (Svix) and Twilio (HMAC-SHA1, form-encoded). Verified requests are stored in
webhook_inbox; `process_delivery_status` turns them into receipts later."""

from __future__ import annotations

import hashlib
import json
from urllib.parse import parse_qsl

import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from teei_pipelines.domain import signatures
from teei_pipelines.settings import env
from teei_pipelines.webhooks.pipeline import Context, Delivery, PayloadError, receive, tolerance_s


def _json(body: bytes) -> object:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PayloadError(f"body is not JSON: {exc}") from None


def verify_resend(context: Context) -> None:
    headers = context.request.headers
    signatures.verify_svix(
        context.secrets["RESEND_WEBHOOK_SECRET"],
        headers.get("svix-id"),
        headers.get("svix-timestamp"),
        headers.get("svix-signature"),
        context.body,
        context.now,
        tolerance_s(),
    )


def parse_resend(context: Context) -> Delivery:
    event = _json(context.body)
    if not isinstance(event, dict) or not isinstance(event.get("type"), str) or not isinstance(event.get("data"), dict):
        raise PayloadError("expected a Resend event {type, created_at, data}")
    return Delivery("resend", event["type"], context.request.headers["svix-id"], "webhooks.email.resend")


def verify_sendgrid(context: Context) -> None:
    headers = context.request.headers
    signatures.verify_sendgrid(
        context.secrets["SENDGRID_WEBHOOK_VERIFICATION_KEY"],
        headers.get("x-twilio-email-event-webhook-signature"),
        headers.get("x-twilio-email-event-webhook-timestamp"),
        context.body,
        context.now,
        tolerance_s(),
    )


def parse_sendgrid(context: Context) -> Delivery:
    events = _json(context.body)
    if not isinstance(events, list) or not all(isinstance(event, dict) for event in events):
        raise PayloadError("expected a JSON array of SendGrid events")
    stamp = context.request.headers.get("x-twilio-email-event-webhook-timestamp", "")
    delivery_id = hashlib.sha256(stamp.encode() + context.body).hexdigest()
    return Delivery("sendgrid", "event_batch", delivery_id, "webhooks.email.sendgrid")


def twilio_url(request: Request) -> str:
    """The URL Twilio called: PUBLIC_WEBHOOK_BASE_URL + path + query, never rebuilt from scheme or Host."""
    base = env("PUBLIC_WEBHOOK_BASE_URL", "")
    if not base:
        return str(request.url)
    query = f"?{request.url.query}" if request.url.query else ""
    return base.rstrip("/") + request.url.path + query


def _form(body: bytes) -> list[tuple[str, str]]:
    try:
        return parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body))
    except (UnicodeDecodeError, ValueError) as exc:
        raise signatures.SignatureError(f"form body does not parse: {exc}") from None


def verify_twilio(context: Context) -> None:
    signatures.verify_twilio(
        context.secrets["TWILIO_AUTH_TOKEN"],
        twilio_url(context.request),
        _form(context.body),
        context.request.headers.get("x-twilio-signature"),
    )


def parse_twilio(context: Context) -> Delivery:
    form = dict(_form(context.body))
    if not form.get("MessageSid") or not form.get("MessageStatus"):
        raise PayloadError("MessageSid and MessageStatus are required")
    token = context.request.headers.get("i-twilio-idempotency-token")
    delivery_id = token or f"{form['MessageSid']}:{form['MessageStatus']}"
    return Delivery("twilio", form["MessageStatus"], delivery_id, "webhooks.sms.twilio")


def delivery_routes(engine: sa.Engine) -> list[Route]:
    async def resend(request: Request) -> JSONResponse:
        return await receive(
            request, engine, secret_names=("RESEND_WEBHOOK_SECRET",), verify=verify_resend, parse=parse_resend
        )

    async def sendgrid(request: Request) -> JSONResponse:
        if "svix-id" in request.headers:  # Resend posts to the SendGrid path in the original's setup
            return await resend(request)
        return await receive(
            request,
            engine,
            secret_names=("SENDGRID_WEBHOOK_VERIFICATION_KEY",),
            verify=verify_sendgrid,
            parse=parse_sendgrid,
        )

    async def twilio(request: Request) -> JSONResponse:
        return await receive(
            request, engine, secret_names=("TWILIO_AUTH_TOKEN",), verify=verify_twilio, parse=parse_twilio
        )

    return [
        Route("/v1/notifications/webhooks/sendgrid", sendgrid, methods=["POST"]),
        Route("/v1/notifications/webhooks/resend", resend, methods=["POST"]),
        Route("/v1/notifications/webhooks/twilio", twilio, methods=["POST"]),
    ]
