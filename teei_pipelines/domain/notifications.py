"""Notification rules (notifications.md): schedule ticks, retry backoff, failure classes, quotas and the delivery
status mapping. Pure functions: no Dagster, no database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

MAX_ATTEMPTS = 3
DEFAULT_SUBJECT = "Notification from TEEI Platform"
QUOTA_TYPES = ("email", "sms", "push")


class ScheduleError(ValueError):
    """An invalid cron expression or timezone in a notification_schedules row."""


@dataclass(frozen=True)
class DueTicks:
    due: list[datetime]  # UTC, ascending: enqueue these
    skipped_late: int  # older than the lateness bound: counted, never enqueued
    last_tick: datetime  # the new last_tick_at (the newest tick considered, due or skipped)


def parse_zone(timezone: str) -> ZoneInfo:
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ScheduleError(f"unknown timezone {timezone!r}") from exc


def validate_schedule(cron_expression: str, timezone: str) -> None:
    zone = parse_zone(timezone)
    if len(cron_expression.split()) != 5:
        raise ScheduleError(f"{cron_expression!r} is not a 5-field cron expression")
    try:
        CronSim(cron_expression, datetime(2025, 1, 1, tzinfo=zone))
    except CronSimError as exc:
        raise ScheduleError(f"invalid cron expression {cron_expression!r}: {exc}") from exc


def due_ticks(
    cron_expression: str,
    timezone: str,
    last_tick: datetime,
    now: datetime,
    *,
    end_at: datetime | None = None,
    max_lateness: timedelta = timedelta(minutes=60),
    limit: int = 10_000,
) -> DueTicks:
    """Ticks with last_tick < tick ≤ now, computed in the schedule's zone with wall-clock cron semantics (cronsim:
    a local time that does not exist is skipped, an ambiguous one fires once). Ticks after end_at are ignored;
    ticks older than now − max_lateness are skipped and counted (notifications.md §2)."""
    validate_schedule(cron_expression, timezone)
    zone = parse_zone(timezone)
    horizon = now if end_at is None else min(now, end_at)
    due: list[datetime] = []
    skipped = 0
    newest = last_tick
    simulation = CronSim(cron_expression, last_tick.astimezone(zone))
    for local in simulation:
        if local.hour not in simulation.hours or local.minute not in simulation.minutes:
            continue  # cronsim moved a local time that does not exist (spring forward); the spec skips it
        tick = local.astimezone(UTC)
        if tick <= last_tick:
            continue
        if tick > horizon or len(due) + skipped >= limit:
            break
        newest = tick
        if tick < now - max_lateness:
            skipped += 1
        else:
            due.append(tick)
    return DueTicks(due, skipped, newest)


def retry_delay(retry_count: int) -> timedelta:
    """5 s after the 1st failure, 10 s after the 2nd (5 s × 2^(retry_count − 1))."""
    return timedelta(seconds=5 * 2 ** max(0, retry_count - 1))


def next_utc_midnight(now: datetime) -> datetime:
    today = now.astimezone(UTC).date()
    return datetime(today.year, today.month, today.day, tzinfo=UTC) + timedelta(days=1)


def quota_exceeded_reason(kind: str, limit: int, used: int) -> str:
    return f"Daily {kind} quota exceeded. Limit: {limit}, Used: {used}"


class SendFailure(Exception):
    """A failed send. Transient failures are retried (up to MAX_ATTEMPTS); permanent ones fail the row now."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.message = message
        self.transient = transient


def http_failure(status: int, body: str) -> SendFailure:
    """Provider HTTP errors: 429 and 5xx are transient, any other 4xx is permanent (notifications.md §3)."""
    transient = status == 429 or status >= 500
    return SendFailure(f"HTTP {status}: {body[:300]}", transient=transient)


def smtp_failure(code: int, message: str) -> SendFailure:
    """SMTP 4xx replies are transient; 5xx (e.g. an invalid recipient) are permanent."""
    return SendFailure(f"SMTP {code}: {message[:300]}", transient=400 <= code < 500)


def after_failure(retry_count: int, failure: SendFailure, now: datetime) -> tuple[str, datetime | None]:
    """The row's next status and next_attempt_at after a failed attempt; retry_count already includes it."""
    if failure.transient and retry_count < MAX_ATTEMPTS:
        return "queued", now + retry_delay(retry_count)
    return "failed", None


# Delivery-status events (notifications.md §8) ------------------------------------------------------------------

SENDGRID_EVENTS = {
    "delivered": "delivered",
    "open": "opened",
    "click": "clicked",
    "bounce": "bounced",
    "dropped": "bounced",
    "spamreport": "spam",
    "unsubscribe": "unsubscribed",
}
RESEND_EVENTS = {
    "email.sent": "sent",
    "email.delivered": "delivered",
    "email.delivery_delayed": "queued",
    "email.opened": "opened",
    "email.clicked": "clicked",
    "email.bounced": "bounced",
    "email.complained": "spam",
    "email.failed": "failed",
}
TWILIO_STATUSES = {
    "queued": "queued",
    "sent": "sent",
    "delivered": "delivered",
    "undelivered": "failed",
    "failed": "failed",
}


@dataclass(frozen=True)
class ProviderEvent:
    """One provider event, ready to correlate and store as a receipt."""

    provider: str
    event_type: str
    provider_event_id: str
    received_at: datetime | None
    event_data: dict
    notification_id: str | None
    provider_message_id: str | None


def sendgrid_events(events: list) -> tuple[list[ProviderEvent], int]:
    """SendGrid's JSON array; malformed entries are skipped and counted, the rest still count."""
    parsed: list[ProviderEvent] = []
    malformed = 0
    for event in events:
        try:
            kind = str(event["event"])
            event_id = str(event["sg_event_id"])
            stamp = datetime.fromtimestamp(int(event["timestamp"]), tz=UTC)
        except (KeyError, TypeError, ValueError, OverflowError, OSError):
            malformed += 1
            continue
        message = event.get("sg_message_id")
        parsed.append(
            ProviderEvent(
                provider="sendgrid",
                event_type=SENDGRID_EVENTS.get(kind, kind),
                provider_event_id=event_id,
                received_at=stamp,
                event_data={
                    "email": event.get("email"),
                    "sgEventId": event_id,
                    "sgMessageId": message,
                    "userAgent": event.get("useragent"),
                    "ip": event.get("ip"),
                    "url": event.get("url"),
                    "reason": event.get("reason"),
                    "status": event.get("status"),
                    "originalEvent": kind,
                },
                notification_id=_text(event.get("notification_id")),
                provider_message_id=str(message).split(".", 1)[0] if message else None,
            )
        )
    return parsed, malformed


def resend_event(event: dict, svix_id: str) -> ProviderEvent:
    data = event.get("data") if isinstance(event.get("data"), dict) else {}
    tags = data.get("tags")
    if isinstance(tags, list):
        tags = {tag.get("name"): tag.get("value") for tag in tags if isinstance(tag, dict)}
    notification_id = tags.get("notification_id") if isinstance(tags, dict) else None
    created = event.get("created_at")
    try:
        received = datetime.fromisoformat(str(created).replace("Z", "+00:00")) if created else None
    except ValueError:
        received = None
    kind = str(event.get("type"))
    return ProviderEvent(
        provider="resend",
        event_type=RESEND_EVENTS.get(kind, kind),
        provider_event_id=svix_id,
        received_at=received,
        event_data=data,
        notification_id=_text(notification_id),
        provider_message_id=_text(data.get("email_id")),
    )


def twilio_event(form: dict[str, str], now: datetime) -> ProviderEvent:
    sid, status = form["MessageSid"], form["MessageStatus"]
    return ProviderEvent(
        provider="twilio",
        event_type=TWILIO_STATUSES.get(status, status),
        provider_event_id=f"{sid}:{status}",
        received_at=now,
        event_data={
            "to": form.get("To"),
            "from": form.get("From"),
            "status": status,
            "errorCode": form.get("ErrorCode"),
            "errorMessage": form.get("ErrorMessage"),
        },
        notification_id=None,
        provider_message_id=sid,
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
