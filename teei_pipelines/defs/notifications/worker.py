"""The e-mail worker (notifications.md §3-§5): claim queued rows with FOR UPDATE SKIP LOCKED, reserve the company's
daily quota atomically, render, send through the configured provider, record the outcome.

Sends run on up to `concurrency` threads (each with its own provider connection) behind one token bucket; the
outcomes of a claimed batch are written back in one transaction. The run loops until nothing is claimable or
EMAIL_WORKER_MAX_SECONDS have passed.
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa

from teei_pipelines.domain import notifications as rules
from teei_pipelines.domain.templates import TemplateMissingError, render
from teei_pipelines.errors import ConfigError
from teei_pipelines.pgio import query
from teei_pipelines.resources.email import EmailResource, OutgoingEmail, Sender
from teei_pipelines.settings import env, env_int


@dataclass(frozen=True)
class WorkerSettings:
    batch: int = 100
    max_seconds: float = 50.0
    concurrency: int = 10
    rate_per_second: float = 100.0  # 0 turns the limit off
    email_daily_limit: int = 1000
    sms_daily_limit: int = 100
    push_daily_limit: int = 10000

    @classmethod
    def from_env(cls) -> WorkerSettings:
        rate = env("NOTIFY_RATE_LIMIT_PER_SEC", "100")
        try:
            rate_per_second = float(rate)
        except ValueError:
            raise ConfigError("NOTIFY_RATE_LIMIT_PER_SEC", f"{rate!r} is not a number") from None
        return cls(
            batch=env_int("EMAIL_WORKER_BATCH", 100, minimum=1),
            max_seconds=env_int("EMAIL_WORKER_MAX_SECONDS", 50, minimum=1),
            concurrency=env_int("EMAIL_WORKER_CONCURRENCY", 10, minimum=1),
            rate_per_second=max(0.0, rate_per_second),
            email_daily_limit=env_int("EMAIL_DAILY_LIMIT", 1000, minimum=0),
            sms_daily_limit=env_int("SMS_DAILY_LIMIT", 100, minimum=0),
            push_daily_limit=env_int("PUSH_DAILY_LIMIT", 10000, minimum=0),
        )


class TokenBucket:
    """A global limit of `rate` sends per second shared by the sending threads (burst of one second)."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.tokens = rate
        self.updated = time.monotonic()
        self.lock = threading.Lock()

    def acquire(self) -> None:
        if self.rate <= 0:
            return
        while True:
            with self.lock:
                now = time.monotonic()
                self.tokens = min(self.rate, self.tokens + (now - self.updated) * self.rate)
                self.updated = now
                if self.tokens >= 1:
                    self.tokens -= 1
                    return
                wait = (1 - self.tokens) / self.rate
            time.sleep(wait)


@dataclass
class Outcome:
    row: dict[str, Any]
    status: str  # sent | queued (retry) | failed | quota_denied | quota_error
    provider: str = ""
    provider_message_id: str = ""
    failure_reason: str | None = None
    retry_count: int = 0
    next_attempt_at: datetime | None = None
    release_quota: bool = False


@dataclass
class WorkerReport:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    quota_denied: int = 0
    quota_errors: int = 0
    batches: int = 0
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)

    @property
    def sends_per_second(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0


class QuotaUnavailableError(RuntimeError):
    """The quota step hit a database error: nothing was sent (fail closed) and the run fails so it is retried."""


class Worker:
    def __init__(self, engine: sa.Engine, email: EmailResource, run_id: str, settings: WorkerSettings) -> None:
        self.engine = engine
        self.email = email
        self.run_id = run_id
        self.settings = settings
        self.bucket = TokenBucket(settings.rate_per_second)
        self.local = threading.local()
        self.senders: list[Sender] = []
        self.senders_lock = threading.Lock()

    # one provider connection per sending thread -------------------------------------------------------------------

    def sender(self) -> Sender:
        sender = getattr(self.local, "sender", None)
        if sender is None:
            sender = self.email.open_sender()
            self.local.sender = sender
            with self.senders_lock:
                self.senders.append(sender)
        return sender

    def close(self) -> None:
        for sender in self.senders:
            sender.close()

    # the loop ------------------------------------------------------------------------------------------------------

    def run(self) -> WorkerReport:
        self.email.validate_provider()  # a provider without its key fails the run at once, before any claim
        started = time.perf_counter()
        report = WorkerReport()
        with self.engine.begin() as connection:
            connection.execute(sa.text(query("notifications/release_stale")))
        try:
            with ThreadPoolExecutor(self.settings.concurrency, thread_name_prefix="send") as pool:
                while time.perf_counter() - started < self.settings.max_seconds:
                    rows = self.claim()
                    if not rows:
                        break
                    report.batches += 1
                    report.claimed += len(rows)
                    today = datetime.now(UTC).date()
                    outcomes = list(pool.map(self.process, rows, [today] * len(rows)))
                    self.record(outcomes, today)
                    self.count(report, outcomes)
                    if report.quota_errors:
                        raise QuotaUnavailableError(
                            f"{report.quota_errors} rows could not reserve their quota; they were requeued unsent"
                        )
        finally:
            self.close()
            report.seconds = time.perf_counter() - started
        return report

    def claim(self) -> list[dict[str, Any]]:
        with self.engine.begin() as connection:
            result = connection.execute(
                sa.text(query("notifications/claim")), {"run_id": self.run_id, "batch": self.settings.batch}
            )
            # RETURNING does not keep the subquery's order: send oldest first, as claimed
            return sorted((dict(row._mapping) for row in result), key=lambda row: row["created_at"])

    # one row -------------------------------------------------------------------------------------------------------

    def process(self, row: dict[str, Any], today: date) -> Outcome:
        kind = row["type"] or "email"
        reserved = False
        if row["company_id"]:
            try:
                reserved, denial = self.reserve_quota(row["company_id"], kind, today)
            except sa.exc.SQLAlchemyError as exc:
                return Outcome(row, "quota_error", failure_reason=f"quota check failed: {type(exc).__name__}")
            if not reserved:
                return Outcome(
                    row,
                    "quota_denied",
                    failure_reason=denial,
                    next_attempt_at=rules.next_utc_midnight(datetime.now(UTC)),
                )
        attempt = (row["retry_count"] or 0) + 1
        try:
            provider, message_id = self.deliver(row, kind)
        except rules.SendFailure as failure:
            status, next_attempt = rules.after_failure(attempt, failure, datetime.now(UTC))
            return Outcome(
                row,
                status,
                failure_reason=failure.message,
                retry_count=attempt,
                next_attempt_at=next_attempt,
                release_quota=reserved,
            )
        return Outcome(row, "sent", provider=provider, provider_message_id=message_id)

    def reserve_quota(self, company_id: str, kind: str, today: date) -> tuple[bool, str]:
        """One conditional UPDATE on the usual path. When it reserves nothing, the company may simply have no quota
        row yet: create it lazily (a no-op when it exists) and try once more before reporting the denial."""
        params = {"company_id": company_id, "kind": kind, "today": today}
        reserve = sa.text(query("notifications/quota_reserve"))
        with self.engine.begin() as connection:
            if connection.execute(reserve, params).first() is not None:
                return True, ""
            connection.execute(
                sa.text(query("notifications/quota_ensure")),
                {
                    **params,
                    "email_limit": self.settings.email_daily_limit,
                    "sms_limit": self.settings.sms_daily_limit,
                    "push_limit": self.settings.push_daily_limit,
                },
            )
            if connection.execute(reserve, params).first() is not None:
                return True, ""
            limit, used = connection.execute(sa.text(query("notifications/quota_state")), params).one()
        return False, rules.quota_exceeded_reason(kind, limit, used)

    def deliver(self, row: dict[str, Any], kind: str) -> tuple[str, str]:
        payload = row["payload"] if isinstance(row["payload"], dict) else json.loads(row["payload"] or "{}")
        if not row["recipient"]:
            raise rules.SendFailure("no recipient", transient=False)
        if kind == "push":
            raise rules.SendFailure("Push provider not configured", transient=False)
        try:
            rendered = render(row["template_id"] or "", row["subject"], payload)
        except TemplateMissingError as exc:
            raise rules.SendFailure(str(exc), transient=False) from None
        except Exception as exc:  # a broken template is permanent for this row, never for the others
            raise rules.SendFailure(
                f"template {row['template_id']!r} failed to render: {exc}", transient=False
            ) from None
        self.bucket.acquire()
        if kind == "sms":
            return "twilio", self.email.send_sms(row["id"], row["recipient"], rendered.text)
        sender = self.sender()
        message = OutgoingEmail(row["id"], row["recipient"], rendered.subject, rendered.html, rendered.text)
        return sender.provider, sender.send(message)

    # writing back --------------------------------------------------------------------------------------------------

    def record(self, outcomes: list[Outcome], today: date) -> None:
        sent = [o for o in outcomes if o.status == "sent"]
        attempts = [o for o in outcomes if o.status in ("queued", "failed")]
        requeued = [o for o in outcomes if o.status in ("quota_denied", "quota_error")]
        releases = [o for o in attempts if o.release_quota]
        with self.engine.begin() as connection:
            if sent:
                connection.execute(
                    sa.text(query("notifications/mark_sent")),
                    [
                        {"id": o.row["id"], "provider": o.provider, "provider_message_id": o.provider_message_id}
                        for o in sent
                    ],
                )
                connection.execute(
                    sa.text(query("notifications/receipt_insert")),
                    [
                        {
                            "notification_id": o.row["id"],
                            "event_type": "sent",
                            "event_data": json.dumps({"messageId": o.provider_message_id, "channel": o.provider}),
                            "received_at": None,
                            "provider": o.provider,
                            "provider_event_id": f"sent:{o.row['id']}",
                        }
                        for o in sent
                    ],
                )
            if attempts:
                connection.execute(
                    sa.text(query("notifications/mark_failed")),
                    [
                        {
                            "id": o.row["id"],
                            "status": o.status,
                            "retry_count": o.retry_count,
                            "failure_reason": o.failure_reason,
                            "next_attempt_at": o.next_attempt_at,
                        }
                        for o in attempts
                    ],
                )
            if requeued:
                connection.execute(
                    sa.text(query("notifications/requeue")),
                    [
                        {"id": o.row["id"], "failure_reason": o.failure_reason, "next_attempt_at": o.next_attempt_at}
                        for o in requeued
                    ],
                )
            if releases:
                connection.execute(
                    sa.text(query("notifications/quota_release")),
                    [
                        {"company_id": o.row["company_id"], "kind": o.row["type"] or "email", "today": today}
                        for o in releases
                    ],
                )

    @staticmethod
    def count(report: WorkerReport, outcomes: list[Outcome]) -> None:
        for outcome in outcomes:
            if outcome.status == "sent":
                report.sent += 1
            elif outcome.status == "queued":
                report.retried += 1
            elif outcome.status == "failed":
                report.failed += 1
                if len(report.failures) < 20:
                    report.failures.append(f"{outcome.row['id']}: {outcome.failure_reason}")
            elif outcome.status == "quota_denied":
                report.quota_denied += 1
            else:
                report.quota_errors += 1
