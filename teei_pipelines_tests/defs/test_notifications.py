"""Notifications on real PostgreSQL and a real SMTP server (aiosmtpd on loopback): the worker sends and records
receipts, retries transient failures 3 times, fails permanent ones at once, enforces quotas exactly under
concurrent runs and fails closed; the schedule sensor enqueues each tick once, even when evaluated twice."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message

import dagster as dg
import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from teei_pipelines.defs.notifications.alerts import run_failure_alert_sensor
from teei_pipelines.defs.notifications.jobs import send_notifications
from teei_pipelines.defs.notifications.scheduler import enqueue_due_ticks
from teei_pipelines.defs.notifications.sensors import notifications_queue_sensor
from teei_pipelines.defs.notifications.worker import QuotaUnavailableError, TokenBucket, Worker, WorkerSettings
from teei_pipelines.devstack import free_port
from teei_pipelines.notify import enqueue_email, enqueue_report_generated
from teei_pipelines.resources.email import EmailResource


class Sink:
    """An SMTP server that keeps what it receives; `reject…` recipients get 550, `flaky…` get 451."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("reject"):
            return "550 5.1.1 no such user"
        if address.startswith("flaky"):
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append(message_from_bytes(envelope.content))
        return "250 Message accepted"


@pytest.fixture(scope="module")
def smtp():
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield sink, controller.port
    controller.stop()


@pytest.fixture
def sink(smtp):
    received, _ = smtp
    with received.lock:
        received.messages.clear()
    return received


@pytest.fixture
def email(smtp) -> EmailResource:
    return EmailResource(provider="smtp", smtp_host="127.0.0.1", smtp_port=smtp[1])


@pytest.fixture
def company(engine) -> str:
    with engine.begin() as connection:
        return str(
            connection.execute(sa.text("INSERT INTO companies (name) VALUES ('Acme') RETURNING id")).scalar_one()
        )


FAST = WorkerSettings(rate_per_second=0, max_seconds=30)


def enqueue(engine, recipients, *, company_id=None, template="welcome", key=None) -> list[str]:
    with engine.begin() as connection:
        return enqueue_email(
            connection,
            template_id=template,
            subject="Welcome to TEEI Platform, {{userName}}",
            payload={"userName": "Ola <Nordmann>"},
            dedup_key=key or f"test:{uuid.uuid4()}",
            recipients=recipients,
            company_id=company_id,
        )


def rows(engine) -> dict[str, dict]:
    with engine.connect() as connection:
        result = connection.execute(
            sa.text(
                "SELECT id::text, recipient, status, retry_count, failure_reason, next_attempt_at, provider, "
                "provider_message_id FROM notifications_queue"
            )
        )
        return {row.recipient: dict(row._mapping) for row in result}


def make_due(engine) -> None:
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE notifications_queue SET next_attempt_at = NULL WHERE status = 'queued'"))


def test_worker_sends_renders_and_records_sent_with_a_receipt(engine, email, sink):
    ids = enqueue(engine, ["ola@example.org", "kari@example.org"])
    report = Worker(engine, email, "run-1", FAST).run()
    assert (report.sent, report.failed, report.claimed) == (2, 0, 2)
    state = rows(engine)
    assert {r["status"] for r in state.values()} == {"sent"}
    assert state["ola@example.org"]["provider_message_id"] == f"<{state['ola@example.org']['id']}@teei-pipelines>"
    received = {m["To"]: m for m in sink.messages}
    message = received["ola@example.org"]
    assert message["Subject"] == "Welcome to TEEI Platform, Ola <Nordmann>"
    assert message["X-TEEI-Notification-Id"] in ids
    html = next(part for part in message.walk() if part.get_content_type() == "text/html").get_payload(decode=True)
    assert b"Ola &lt;Nordmann&gt;" in html
    with engine.connect() as connection:
        receipts = connection.execute(
            sa.text("SELECT provider, provider_event_id, event_type FROM notifications_delivery_receipts")
        ).all()
    assert sorted(receipts) == sorted(("smtp", f"sent:{i}", "sent") for i in ids)
    # nothing left: a second run claims nothing and sends nothing twice
    assert Worker(engine, email, "run-2", FAST).run().claimed == 0
    assert len(sink.messages) == 2


def test_transient_failures_retry_with_backoff_then_fail_and_permanent_ones_fail_at_once(engine, email, sink):
    enqueue(engine, ["flaky@example.org", "reject@example.org"])
    enqueue(engine, ["nobody@example.org"], template="no-such-template")
    started = datetime.now(UTC)
    Worker(engine, email, "run-1", FAST).run()
    state = rows(engine)
    flaky = state["flaky@example.org"]
    assert (flaky["status"], flaky["retry_count"]) == ("queued", 1)
    assert timedelta(seconds=4) < flaky["next_attempt_at"] - started < timedelta(seconds=7)
    assert state["reject@example.org"]["status"] == "failed" and "550" in state["reject@example.org"]["failure_reason"]
    assert state["nobody@example.org"]["status"] == "failed"
    assert "no-such-template" in state["nobody@example.org"]["failure_reason"]

    # not due yet: nothing is claimed before next_attempt_at
    assert Worker(engine, email, "run-2", FAST).run().claimed == 0
    make_due(engine)
    Worker(engine, email, "run-3", FAST).run()
    second = rows(engine)["flaky@example.org"]
    assert (second["status"], second["retry_count"]) == ("queued", 2)
    assert second["next_attempt_at"] - datetime.now(UTC) > timedelta(seconds=8)  # 10 s after the 2nd failure
    make_due(engine)
    Worker(engine, email, "run-4", FAST).run()
    third = rows(engine)["flaky@example.org"]
    assert (third["status"], third["retry_count"]) == ("failed", 3) and "451" in third["failure_reason"]
    assert sink.messages == []


def test_quota_blocks_exactly_at_the_limit_under_concurrent_runs(engine, email, sink, company, monkeypatch):
    monkeypatch.setenv("EMAIL_DAILY_LIMIT", "5")
    settings = WorkerSettings.from_env()
    settings = WorkerSettings(**{**settings.__dict__, "rate_per_second": 0, "batch": 3})
    enqueue(engine, [f"user{i}@example.org" for i in range(20)], company_id=company)
    reports = []
    threads = [
        threading.Thread(target=lambda n=n: reports.append(Worker(engine, email, f"run-{n}", settings).run()))
        for n in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r.sent for r in reports) == 5 and len(sink.messages) == 5
    state = rows(engine).values()
    denied = [r for r in state if r["status"] == "queued"]
    assert len(denied) == 15
    assert all(r["retry_count"] == 0 for r in denied)  # a denial is not an attempt
    assert {r["failure_reason"] for r in denied} == {"Daily email quota exceeded. Limit: 5, Used: 5"}
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date()
    assert {r["next_attempt_at"] for r in denied} == {datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=UTC)}
    with engine.connect() as connection:
        used = connection.execute(sa.text("SELECT email_daily_used FROM notifications_quotas")).scalar_one()
    assert used == 5


def test_a_failed_send_gives_its_quota_back(engine, email, sink, company):
    enqueue(engine, ["reject@example.org", "ok@example.org"], company_id=company)
    Worker(engine, email, "run-1", FAST).run()
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT email_daily_used FROM notifications_quotas")).scalar_one() == 1


def test_a_database_error_in_the_quota_step_fails_closed(engine, email, sink, company):
    enqueue(engine, ["ola@example.org"], company_id=company)
    with engine.begin() as connection:
        connection.execute(sa.text("ALTER TABLE notifications_quotas RENAME TO notifications_quotas_gone"))
    with pytest.raises(QuotaUnavailableError):
        Worker(engine, email, "run-1", FAST).run()
    row = rows(engine)["ola@example.org"]
    assert (row["status"], row["retry_count"]) == ("queued", 0) and "quota check failed" in row["failure_reason"]
    assert sink.messages == []


def test_a_provider_without_its_key_fails_the_run_before_claiming(engine, postgres):
    enqueue(engine, ["ola@example.org"])
    result = send_notifications.execute_in_process(
        resources={"postgres": postgres, "email": EmailResource(provider="sendgrid")},
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    assert not result.success
    assert "SENDGRID_API_KEY" in result.failure_data_for_node("send_queued_notifications").error.message
    assert rows(engine)["ola@example.org"]["status"] == "queued"


def test_the_queue_sensor_requests_a_worker_run_only_when_a_row_is_claimable(engine, postgres):
    instance = dg.DagsterInstance.ephemeral()
    context = dg.build_sensor_context(instance=instance, resources={"postgres": postgres})
    assert isinstance(notifications_queue_sensor(context), dg.SkipReason)
    enqueue(engine, ["ola@example.org"])
    request = notifications_queue_sensor(dg.build_sensor_context(instance=instance, resources={"postgres": postgres}))
    assert isinstance(request, dg.RunRequest) and request.run_key.startswith("email_worker:")


def _schedule(engine, cron="0 9 * * 1", zone="Europe/Oslo", created=datetime(2026, 3, 1, tzinfo=UTC)) -> str:
    with engine.begin() as connection:
        return str(
            connection.execute(
                sa.text(
                    "INSERT INTO notification_schedules (name, cron_expression, timezone, template_id, recipients, "
                    "subject, payload, created_at) VALUES ('weekly', :cron, :zone, 'weekly-report', "
                    '\'["a@example.org", "b@example.org"]\', \'Weekly\', \'{"companyName": "Acme"}\', :created) '
                    "RETURNING id"
                ),
                {"cron": cron, "zone": zone, "created": created},
            ).scalar_one()
        )


def test_schedule_ticks_enqueue_once_per_recipient_even_when_evaluated_again(engine):
    schedule_id = _schedule(engine)
    monday = datetime(2026, 3, 30, 7, 0, tzinfo=UTC)  # 09:00 in Oslo, the first Monday after the DST change
    first = enqueue_due_ticks(engine, monday + timedelta(minutes=1))
    assert (first.ticks, first.rows) == (1, 2)  # the earlier Mondays were more than 60 minutes late
    assert first.skipped_late == 4
    # a restarted sensor evaluates the same instant again, and later in the week: nothing new
    assert enqueue_due_ticks(engine, monday + timedelta(minutes=1)).rows == 0
    assert enqueue_due_ticks(engine, monday + timedelta(days=2)).rows == 0
    with engine.begin() as connection:  # a crash after the insert but before the advance is also a no-op
        connection.execute(
            sa.text("UPDATE notification_schedules SET last_tick_at = :t"), {"t": monday - timedelta(days=1)}
        )
    assert enqueue_due_ticks(engine, monday + timedelta(minutes=1)).ticks == 1
    with engine.connect() as connection:
        queued = connection.execute(
            sa.text("SELECT recipient, scheduled_at, payload, schedule_id::text FROM notifications_queue ORDER BY 1")
        ).all()
    assert [(r.recipient, r.scheduled_at) for r in queued] == [("a@example.org", monday), ("b@example.org", monday)]
    assert queued[0].payload == {"companyName": "Acme", "scheduledFor": monday.isoformat()}
    assert queued[0].schedule_id == schedule_id


def test_an_invalid_schedule_is_reported_once_and_does_not_block_the_others(engine):
    good = _schedule(engine, cron="0 * * * *", zone="UTC")
    bad = _schedule(engine, cron="0 9 * * 9", zone="UTC")  # five fields, but no day 9 of the week
    now = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    with engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE notification_schedules SET last_tick_at = :t"), {"t": now - timedelta(hours=1)}
        )
    first = enqueue_due_ticks(engine, now)
    assert first.rows == 2 and len(first.invalid) == 1 and bad in first.invalid[0]
    assert enqueue_due_ticks(engine, now + timedelta(hours=1)).invalid == []  # reported once
    with engine.connect() as connection:
        errors = dict(connection.execute(sa.text("SELECT id::text, last_error FROM notification_schedules")).all())
    assert errors[good] is None and "invalid cron expression" in errors[bad]
    with pytest.raises(sa.exc.DBAPIError):  # and it could not have been written with an unknown zone
        _schedule(engine, zone="Europe/Atlantis")


def test_report_generated_enqueues_the_weekly_report_once_and_skips_a_missing_recipient(engine):
    event = {
        "type": "report.generated",
        "data": {"reportUrl": "https://r", "reportPeriod": {"start": "a", "end": "b"}, "recipientEmail": "c@x.org"},
        "metadata": {"id": "evt-1"},
    }
    with engine.begin() as connection:
        assert enqueue_report_generated(connection, event, 7) is None
        assert enqueue_report_generated(connection, event, 7) is None
        assert enqueue_report_generated(connection, {"data": {"reportUrl": "x"}}, 8) == "no_recipient"
    with engine.connect() as connection:
        queued = connection.execute(sa.text("SELECT dedup_key, template_id, recipient FROM notifications_queue")).all()
    assert [tuple(r) for r in queued] == [("event:evt-1", "weekly-report", "c@x.org")]


def test_a_one_shot_row_is_sent_only_once_its_scheduled_time_has_come(engine, email, sink):
    [notification_id] = enqueue(engine, ["later@example.org"])
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "UPDATE notifications_queue SET scheduled_at = now() + interval '1 hour' WHERE id = CAST(:id AS uuid)"
            ),
            {"id": notification_id},
        )
    assert Worker(engine, email, "run-1", FAST).run().claimed == 0
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE notifications_queue SET scheduled_at = now() - interval '1 second'"))
    assert Worker(engine, email, "run-2", FAST).run().sent == 1
    assert [m["To"] for m in sink.messages] == ["later@example.org"]


def test_the_rate_limit_spaces_sends_across_threads():
    bucket = TokenBucket(rate=20)
    started = time.monotonic()
    with ThreadPoolExecutor(5) as pool:
        list(pool.map(lambda _: bucket.acquire(), range(50)))
    # a full bucket allows a one-second burst of 20; the other 30 need at least 1.5 s at 20 per second
    assert time.monotonic() - started >= 1.4
    unlimited = TokenBucket(rate=0)
    started = time.monotonic()
    for _ in range(10_000):
        unlimited.acquire()
    assert time.monotonic() - started < 1.0


@dg.op
def explode():
    raise RuntimeError("the warehouse is on fire")


@dg.job(tags={"dagster/partition": "2026-03-09"})
def fragile_job():
    explode()


def _failure_context(job, postgres, instance, resources=None):
    result = job.execute_in_process(instance=instance, raise_on_error=False, resources=resources)
    run = instance.get_run_by_id(result.run_id)
    failure = next(e for e in result.all_events if e.event_type_value == "PIPELINE_FAILURE")
    return dg.build_run_status_sensor_context(
        sensor_name="run_failure_alert_sensor",
        dagster_event=failure,
        dagster_instance=instance,
        dagster_run=run,
        resources={"postgres": postgres},
    ).for_run_failure()


def test_a_failed_run_enqueues_one_job_failed_alert_per_recipient(engine, postgres, monkeypatch):
    monkeypatch.setenv("ALERT_EMAIL_TO", "oncall@teei.local, data@teei.local")
    instance = dg.DagsterInstance.ephemeral()
    context = _failure_context(fragile_job, postgres, instance)
    run_failure_alert_sensor(context)
    run_failure_alert_sensor(context)  # the same failure seen twice: still one row per recipient
    with engine.connect() as connection:
        alerts = connection.execute(
            sa.text("SELECT recipient, template_id, payload, dedup_key FROM notifications_queue ORDER BY recipient")
        ).all()
    run_id = context.dagster_run.run_id
    assert [(a.recipient, a.dedup_key) for a in alerts] == [
        ("data@teei.local", f"run_failed:{run_id}:data@teei.local"),
        ("oncall@teei.local", f"run_failed:{run_id}:oncall@teei.local"),
    ]
    payload = alerts[0].payload
    assert (payload["jobName"], payload["stepKey"], payload["partitionKey"]) == ("fragile_job", "explode", "2026-03-09")
    assert "the warehouse is on fire" in payload["error"] and payload["dagsterUrl"].endswith(f"/runs/{run_id}")


def test_a_failed_send_notifications_run_raises_no_alert(engine, postgres):
    resources = {"postgres": postgres, "email": EmailResource(provider="resend")}  # no key: the run fails
    context = _failure_context(send_notifications, postgres, dg.DagsterInstance.ephemeral(), resources)
    run_failure_alert_sensor(context)
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM notifications_queue")).scalar_one() == 0
