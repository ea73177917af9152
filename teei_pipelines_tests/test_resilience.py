"""Failure drills on real services: PostgreSQL stopped during a run (a clear error, the job-failed alert once it is
back, the RetryPolicy's retry succeeding after a restart), and a run killed mid-way then re-run giving the same
tables as an uninterrupted run (the kill lands inside the write transaction, held there by a lock)."""

from __future__ import annotations

import threading
from datetime import timedelta

import dagster as dg
import sqlalchemy as sa

from teei_pipelines import seed
from teei_pipelines.defs.notifications.alerts import run_failure_alert_sensor
from teei_pipelines.defs.profiles import completeness
from teei_pipelines.devstack import ensure_database, start_postgres
from teei_pipelines.migrations import migrate_postgres
from teei_pipelines.resources.postgres import PostgresResource, engine_for

from .conftest import wait_until


def own_postgres(service_dir):
    server = start_postgres(service_dir / "pg")
    ensure_database(server.get_uri(), "teei")
    postgres = PostgresResource(dsn=server.get_uri("teei"))
    migrate_postgres(postgres.engine)
    seed.load_postgres(postgres.engine, seed.generate(0.05, 5, seed.default_anchor()))
    return server, postgres


def scalar(postgres: PostgresResource, sql: str):
    with postgres.connect() as connection:
        return connection.execute(sa.text(sql)).scalar_one()


def test_postgres_down_fails_clearly_alerts_and_a_retry_after_restart_succeeds(service_dir, monkeypatch):
    monkeypatch.setenv("ALERT_EMAIL_TO", "oncall@teei.local")
    server, postgres = own_postgres(service_dir)
    instance = dg.DagsterInstance.ephemeral()
    try:
        # Down for every attempt: the run fails with the variable and the reason, not a driver traceback.
        server.cleanup()
        engine_for(postgres.dsn).dispose()
        failed = dg.materialize(
            [completeness], resources={"postgres": postgres}, instance=instance, raise_on_error=False
        )
        assert not failed.success
        error = failed.get_step_failure_events()[0].step_failure_data.error
        assert error.message.startswith("Exceeded max_retries of 3")
        assert "ServiceUnavailableError: DATABASE_URL: PostgreSQL at" in error.to_string()
        assert "is unreachable" in error.to_string()
        attempts = [e for e in failed.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
        assert len(attempts) == 3  # IO_RETRY tried three more times before giving up

        # Back up: the run-failure sensor enqueues the job-failed alert for that run, once.
        server = start_postgres(service_dir / "pg")
        run = instance.get_run_by_id(failed.run_id)
        failure_event = instance.all_logs(failed.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)[0].dagster_event
        for _ in range(2):
            context = dg.build_run_status_sensor_context(
                sensor_name="run_failure_alert_sensor",
                dagster_instance=instance,
                dagster_run=run,
                dagster_event=failure_event,
                resources={"postgres": postgres},
            ).for_run_failure()
            run_failure_alert_sensor(context)
        with postgres.connect() as connection:
            alerts = connection.execute(
                sa.text(
                    "SELECT recipient, payload->>'runId', payload->>'error' FROM notifications_queue "
                    "WHERE template_id = 'job-failed'"
                )
            ).all()
        assert len(alerts) == 1 and alerts[0][0] == "oncall@teei.local" and alerts[0][1] == failed.run_id
        assert "DATABASE_URL" in alerts[0][2]

        # Down when the run starts, back during the retry's backoff: the retry succeeds.
        server.cleanup()
        engine_for(postgres.dsn).dispose()
        restarted = {}
        timer = threading.Timer(2.0, lambda: restarted.setdefault("server", start_postgres(service_dir / "pg")))
        timer.start()
        recovered = dg.materialize([completeness], resources={"postgres": postgres}, instance=instance)
        timer.join()
        server = restarted["server"]
        assert recovered.success
        assert [e for e in recovered.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
        assert scalar(postgres, "SELECT count(*) FROM users WHERE profile_completeness IS NULL") == 0
    finally:
        engine_for(postgres.dsn).dispose()
        server.cleanup()


def run_vis_day(dsn: str, key: str) -> None:
    """The child process of the kill drill (module level, so a spawned process can import it)."""
    from teei_pipelines.defs.impact.assets import vis_scores_daily

    dg.materialize(
        [vis_scores_daily],
        partition_key=key,
        resources={"postgres": PostgresResource(dsn=dsn)},
        instance=dg.DagsterInstance.ephemeral(),
    )


def test_a_run_killed_mid_way_and_re_run_leaves_the_same_tables(engine, postgres, tmp_path):
    """The VIS day is written in one transaction. The drill holds a lock that stops the run's write at its first
    statement on vis_scores_daily, after the scores were staged in the same transaction, and kills the run's process
    exactly there: no partial rows are left, and the re-run equals an uninterrupted run."""
    import multiprocessing

    from teei_pipelines.defs.impact.assets import vis_scores_daily

    seed.load_postgres(engine, seed.generate(0.2, 9, seed.default_anchor()))
    day = (seed.default_anchor().date() - timedelta(days=1)).isoformat()  # the newest complete day

    def state() -> list[tuple]:
        with engine.connect() as connection:
            return connection.execute(
                sa.text("SELECT user_id, current_vis, decay_sum FROM vis_scores_daily ORDER BY user_id")
            ).all()

    def backends(condition: str) -> list[int]:
        with engine.connect() as connection:
            return list(connection.execute(sa.text(f"SELECT pid FROM pg_stat_activity WHERE {condition}")).scalars())

    reference = dg.materialize(
        [vis_scores_daily], partition_key=day, resources={"postgres": postgres}, instance=dg.DagsterInstance.ephemeral()
    )
    assert reference.success
    expected = state()
    assert expected
    with engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM vis_scores_daily"))

    blocked_write = "wait_event_type = 'Lock' AND query LIKE '%DELETE FROM vis_scores_daily%'"
    with engine.connect() as holder:
        # SHARE mode lets the run read vis_scores_daily but not write it
        holder.execute(sa.text("LOCK TABLE vis_scores_daily IN SHARE MODE"))
        process = multiprocessing.get_context("spawn").Process(target=run_vis_day, args=(postgres.dsn, day))
        process.start()
        (writer,) = wait_until(lambda: backends(blocked_write), 120, "the run's write to block on the lock", 0.05)
        staged = backends(f"pid = {writer} AND xact_start IS NOT NULL AND state = 'active'")
        assert staged == [writer]  # inside its write transaction
        process.kill()
        process.join()
        holder.rollback()  # the orphaned backend gets the lock, finds its client gone and rolls back
    wait_until(lambda: not backends(f"pid = {writer}"), 60, "the killed run's backend to end", 0.05)
    assert state() == []  # nothing half-written
    rerun = dg.materialize(
        [vis_scores_daily], partition_key=day, resources={"postgres": postgres}, instance=dg.DagsterInstance.ephemeral()
    )
    assert rerun.success
    assert state() == expected
