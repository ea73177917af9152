"""`teei-pipelines dev --headless` brings up real PostgreSQL, NATS JetStream, chDB and the receiver; Ctrl-C stops
every child; a second start reuses the data."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest
import sqlalchemy as sa

from teei_pipelines.devstack import DevStack, free_port, stop_process
from teei_pipelines.domain.subjects import STREAM_NAME
from teei_pipelines.resources.nats import NatsResource, run_sync
from teei_pipelines.resources.postgres import engine_for

from .conftest import REPO_ROOT, pg_scalar, run_cli, wait_for_line, wait_until


@pytest.mark.parametrize("own_session", [True, False], ids=["own process group", "parent's process group"])
def test_stop_process_ends_a_child_in_its_own_or_its_parents_process_group(own_session):
    """stop_process signalled only the child's process group, so a child sharing its parent's group outlived it
    (the benchmarks' uvicorn and aiosmtpd servers were left running)."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=own_session)
    time.sleep(0.5)  # past interpreter start-up, so SIGINT arrives as KeyboardInterrupt
    started = time.monotonic()
    stop_process(child, "sleeper", grace_s=30)
    assert child.poll() is not None
    assert time.monotonic() - started < 10, "ended by SIGINT, not by waiting out the grace period"


def test_headless_stack_starts_serves_and_stops_cleanly(service_dir):
    root = service_dir / "stack"
    receiver_port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "teei_pipelines.cli",
            "dev",
            "--headless",
            "--root",
            str(root),
            "--receiver-port",
            str(receiver_port),
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        output = wait_for_line(process, "stack started in", 240)
        assert "daemon only (headless: no webserver)" in output
        assert "seed: PostgreSQL 44," in output
        state = json.loads((root / "stack.json").read_text())

        # PostgreSQL: migrated and seeded.
        engine = engine_for(state["DATABASE_URL"])
        with engine.connect() as connection:
            assert connection.execute(sa.text("SELECT count(*) FROM schema_migrations")).scalar_one() == 10
            assert connection.execute(sa.text("SELECT count(*) FROM campaigns")).scalar_one() == 24
        engine.dispose()

        # NATS: JetStream with the stream.
        nats = NatsResource(url=state["NATS_URL"])

        async def stream_name():
            async with nats.jetstream() as (_, js):
                return (await js.stream_info(STREAM_NAME)).config.name

        assert run_sync(stream_name()) == STREAM_NAME

        # chDB: the stack holds no lock on the path, so a run (here: a child process) can open it.
        result = run_cli("migrate", "--clickhouse-only", env={"CLICKHOUSE_DSN": state["CLICKHOUSE_DSN"]})
        assert result.returncode == 0, result.stderr
        assert "clickhouse: applied 0 (none), 3 already applied" in result.stdout

        # Receiver.
        with urllib.request.urlopen(f"http://127.0.0.1:{receiver_port}/health", timeout=5) as response:
            assert json.loads(response.read()) == {"status": "ok", "db": "ok", "nats": "ok"}

        children = psutil.Process(process.pid).children(recursive=True)
        assert any("dagster-daemon" in " ".join(child.cmdline()) for child in children)

        # The main job (VIS for yesterday) was submitted; the daemon launches it and it writes real rows.
        assert "submitted vis_daily_job for partition" in wait_for_line(process, "submitted vis_daily_job", 120)
        engine = engine_for(state["DATABASE_URL"])
        scored = wait_until(
            lambda: pg_scalar(engine, "SELECT count(*) FROM vis_scores"), 180, "vis_daily_job's vis_scores"
        )
        assert scored > 100, "the daemon ran vis_daily_job and refreshed vis_scores"

        # A queued e-mail is picked up by notifications_queue_sensor, sent by send_notifications through the
        # stack's SMTP sink, and lands in the Maildir.
        with engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO notifications_queue (type, channel, template_id, recipient, subject, payload, "
                    "dedup_key) VALUES ('email', 'smtp', 'welcome', 'devstack@teei.local', 'Hello {{userName}}', "
                    "'{\"userName\": \"Dev\"}', 'test:devstack')"
                )
            )

        # Other e-mails may arrive too (an hourly campaign job that ticks during the test sends its alerts).
        def delivered() -> list[Path]:
            mails = list((root / "mail" / "new").glob("*")) if (root / "mail" / "new").exists() else []
            return [mail for mail in mails if b"Subject: Hello Dev" in mail.read_bytes()]

        assert len(wait_until(delivered, 180, "the queued e-mail in the Maildir")) == 1, "delivered once"
        with engine.connect() as connection:
            status = connection.execute(
                sa.text("SELECT status FROM notifications_queue WHERE dedup_key = 'test:devstack'")
            ).scalar_one()
        assert status == "sent"

        # Q2Q: the warm-up submitted at start filled q2q_cache, and q2q_evidence_sensor classified the seeded
        # feedback. Synthetics: synthetics_fast_job probed our own stack (its counters live in PostgreSQL).
        checks = {
            "cache": "SELECT count(*) = 10 FROM q2q_cache",
            "evidence": "SELECT count(*) > 0 FROM q2q_classifications",
            "self_probes": "SELECT count(*) = 4 FROM synthetic_monitor_state WHERE last_success",
        }
        wait_until(
            lambda: {name: pg_scalar(engine, sql) for name, sql in checks.items()},
            240,
            "the Q2Q warm-up, evidence classification and self-probes",
            3,
            until=lambda outcome: all(outcome.values()),
        )
        engine.dispose()

        # A manual trigger through the whole stack: the receiver stores it, the relay publishes it, the daemon's
        # nats_pipelines_trigger_sensor launches the run, and GET on the request shows it succeeded.
        token = (root / "trigger_token").read_text().strip()
        auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        request = urllib.request.Request(
            f"http://127.0.0.1:{receiver_port}/v1/analytics/sync", data=b"{}", headers=auth, method="POST"
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            accepted = json.loads(response.read())
        assert response.status == 202 and accepted["job"] == "analytics_sync_job"
        status_url = f"http://127.0.0.1:{receiver_port}/v1/pipelines/requests/{accepted['requestId']}"

        def request_status() -> dict:
            with urllib.request.urlopen(urllib.request.Request(status_url, headers=auth), timeout=10) as response:
                return json.loads(response.read())

        wait_until(
            request_status,
            240,
            "the triggered analytics_sync_job to succeed",
            3,
            until=lambda status: status.get("summary", {}).get("byStatus") == {"SUCCESS": 1},
        )
    finally:
        process.send_signal(signal.SIGINT)
        remaining = process.communicate(timeout=90)[0]
    assert process.returncode == 0, remaining
    assert "stopped." in remaining
    time.sleep(0.5)
    leftovers = [p for p in psutil.process_iter(["cmdline"]) if str(root) in " ".join(p.info["cmdline"] or [])]
    assert leftovers == [], [p.info["cmdline"] for p in leftovers]

    # A second start reuses the data: no re-seed, migrations already applied.
    stack = DevStack(root=root, receiver_port=free_port())
    try:
        stack.start_services()
        engine = engine_for(stack.env["DATABASE_URL"])
        with engine.connect() as connection:
            assert connection.execute(sa.text("SELECT count(*) FROM campaigns")).scalar_one() == 24
        engine.dispose()
    finally:
        stack.stop()
