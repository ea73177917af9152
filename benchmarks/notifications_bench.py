"""E-mail worker throughput (issue: Notifications): N queued e-mails (default 10,000) sent to a local SMTP server
(aiosmtpd on loopback, the same one for both) with the rate limit off, against a plain smtplib loop sending the
same rendered messages over one connection in the same run. Target: worker ≥ 0.8× the loop's e-mails/s."""

from __future__ import annotations

import smtplib
import subprocess
import sys
import time
import uuid

import sqlalchemy as sa

from benchmarks.stack import bench_postgres
from benchmarks.vis_bench import Row
from teei_pipelines.defs.notifications.worker import Worker, WorkerSettings
from teei_pipelines.devstack import free_port, stop_process, wait_for_port
from teei_pipelines.domain.templates import render
from teei_pipelines.notify import enqueue_email
from teei_pipelines.resources.email import EmailResource, OutgoingEmail, mime
from teei_pipelines.resources.postgres import PostgresResource

SUBJECT = "Welcome to TEEI Platform, {{userName}}"


def _plain_loop(port: int, n: int) -> float:
    """The baseline: render each message and send it with smtplib over one connection, no bookkeeping."""
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for index in range(n):
            rendered = render("welcome", SUBJECT, {"userName": f"User {index}"})
            message = OutgoingEmail(
                str(uuid.uuid4()), f"user{index}@example.org", rendered.subject, rendered.html, rendered.text
            )
            smtp.send_message(mime(message, "TEEI Platform <noreply@teei-platform.com>"))
    return time.perf_counter() - started


def _enqueue(postgres: PostgresResource, n: int) -> None:
    batch = f"bench:{uuid.uuid4()}"
    with postgres.begin() as connection:
        for index in range(n):
            enqueue_email(
                connection,
                template_id="welcome",
                subject=SUBJECT,
                payload={"userName": f"User {index}"},
                dedup_key=f"{batch}:{index}",
                recipients=[f"user{index}@example.org"],
            )


def run(n: int) -> tuple[list[Row], dict[str, float]]:
    # The SMTP server runs in its own process, as a real relay would: in this process it would share the GIL.
    port = free_port()
    smtpd = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}", "-c", "aiosmtpd.handlers.Sink"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # stop_process signals its whole group
    )
    wait_for_port(port, 30, process=smtpd, name="aiosmtpd")
    try:
        with bench_postgres("notifications") as (_, postgres):
            _enqueue(postgres, n)
            baseline_s = _plain_loop(port, n)
            settings = WorkerSettings(rate_per_second=0, max_seconds=3600)
            email = EmailResource(provider="smtp", smtp_host="127.0.0.1", smtp_port=port)
            report = Worker(postgres.engine, email, "bench", settings).run()
            with postgres.connect() as connection:
                sent = connection.execute(
                    sa.text("SELECT count(*) FROM notifications_queue WHERE status = 'sent'")
                ).scalar_one()
            assert sent == n == report.sent, (sent, report.sent)
    finally:
        stop_process(smtpd, "aiosmtpd")
    rows = [
        Row(
            f"e-mail worker, {n:,} queued e-mails to local SMTP (rate limit off)",
            report.seconds,
            "plain smtplib loop, one connection",
            baseline_s,
            "≥ 0.8× the loop's e-mails/s",
        )
    ]
    return rows, {"worker_per_s": n / report.seconds, "loop_per_s": n / baseline_s}


if __name__ == "__main__":
    import os

    found, info = run(int(os.environ.get("BENCH_EMAILS", 10_000)))
    for row in found:
        print(f"{row.metric}: {row.value:.2f} s vs {row.baseline_name} {row.baseline:.2f} s → {row.ratio:.2f}×")
    print(info)
