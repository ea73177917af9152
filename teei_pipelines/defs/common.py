"""Policies and entry-point specs shared by every area (spec README "Reliability", events-webhooks.md §6)."""

import dataclasses
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import dagster as dg
import sqlalchemy as sa

from teei_pipelines.pgio import query
from teei_pipelines.resources.postgres import PostgresResource
from teei_pipelines.settings import partition_start

# Every PG, CH, NATS and HTTP step: 3 retries, exponential backoff with jitter.
IO_RETRY = dg.RetryPolicy(max_retries=3, delay=5, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)


def source_table(name: str, description: str) -> dg.AssetSpec:
    """An entry point of the lineage graph: a PostgreSQL table written outside Dagster."""
    return dg.AssetSpec(key=["sources", name], description=description, group_name="sources", kinds={"postgres"})


BUDDY_EVENTS = source_table(
    "buddy_events", "buddy_system_events in PostgreSQL, written by the Buddy service (and the buddy.* NATS events)."
)
PROGRAM_ENROLLMENTS = source_table(
    "program_enrollments", "program_enrollments in PostgreSQL: who is enrolled in which program instance."
)
CAMPAIGNS = source_table("campaigns", "campaigns and program_instances in PostgreSQL, edited by the platform API.")
KINTELL_WEBHOOKS = dg.AssetSpec(
    key=["sources", "kintell_webhooks"],
    description="Kintell's signed session and rating webhooks: webhook_inbox → process_kintell_webhooks → "
    "kintell_sessions and the kintell.* events in JetStream (observed by the kintell NATS sensors).",
    group_name="sources",
    kinds={"nats"},
)
KINTELL_SESSIONS = dg.AssetSpec(
    key=["sources", "kintell_sessions"],
    description="kintell_sessions in PostgreSQL, written from Kintell webhooks by process_kintell_webhooks.",
    group_name="sources",
    kinds={"postgres"},
    deps=[KINTELL_WEBHOOKS.key],
)


def daily_partitions() -> dg.DailyPartitionsDefinition:
    """UTC days from TEEI_PARTITION_START up to yesterday (the last complete day)."""
    return dg.DailyPartitionsDefinition(start_date=partition_start().isoformat(), timezone="UTC")


def freshness_daily() -> dg.FreshnessPolicy:
    """About twice a daily cadence (spec README)."""
    return dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=48), warn_window=timedelta(hours=26))


def freshness_every(minutes: int) -> dg.FreshnessPolicy:
    """For assets refreshed every few minutes: warn after three missed runs, fail after six."""
    return dg.FreshnessPolicy.time_window(
        fail_window=timedelta(minutes=6 * minutes), warn_window=timedelta(minutes=3 * minutes)
    )


def violations_check(postgres: PostgresResource, name: str, query_name: str, **params: Any) -> dg.AssetCheckResult:
    """An asset check whose query returns one count of violating rows: 0 passes."""
    with postgres.connect() as connection:
        violations = connection.execute(sa.text(query(query_name)), params).scalar_one()
    return dg.AssetCheckResult(check_name=name, passed=violations == 0, metadata={"violations": violations})


IN_PROGRESS = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def job_running(instance: dg.DagsterInstance, job_name: str) -> bool:
    return bool(instance.get_runs_count(dg.RunsFilter(job_name=job_name, statuses=IN_PROGRESS)))


def unless_running(job_name: str):
    """A schedule's evaluation function: one run per tick, skipped while a run of the job is still going."""

    def evaluate(context: dg.ScheduleEvaluationContext):
        if job_running(context.instance, job_name):
            return dg.SkipReason(f"a {job_name} run is still in progress")
        return dg.RunRequest(run_key=context.scheduled_execution_time.isoformat())

    return evaluate


def pending_work_sensor(name: str, job: dg.JobDefinition, pending_query: str, description: str, interval_s: int = 30):
    """A sensor that requests `job` when `pending_query` (a file returning one boolean) says work waits in
    PostgreSQL and no run of the job is in progress; the job drains everything pending."""

    @dg.sensor(
        name=name,
        job=job,
        minimum_interval_seconds=interval_s,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=description,
    )
    def _sensor(context: dg.SensorEvaluationContext, postgres: PostgresResource):
        if job_running(context.instance, job.name):
            return dg.SkipReason(f"a {job.name} run is in progress")
        with postgres.connect() as connection:
            pending = connection.execute(sa.text(query(pending_query))).scalar_one()
        if not pending:
            return dg.SkipReason("nothing waiting")
        return dg.RunRequest(run_key=f"{job.name}:{datetime.now(UTC).isoformat()}")

    return _sensor


def inbox_processing_job(name: str, process: Callable[[sa.Engine], Any], description: str, area: str):
    """A job of one op that drains stored webhook requests with `process(engine)` and reports its counters."""

    @dg.op(name=f"{name}_op", retry_policy=IO_RETRY, tags={"teei/area": area})
    def _op(context: dg.OpExecutionContext, postgres: PostgresResource) -> dict:
        report = dataclasses.asdict(process(postgres.engine))
        context.add_output_metadata(report)
        return report

    @dg.job(name=name, description=description, tags={"teei/area": area})
    def _job():
        _op()

    return _job


def previous_utc_day(context: dg.ScheduleEvaluationContext) -> date:
    """The UTC day before the tick: what a daily schedule materializes."""
    return context.scheduled_execution_time.astimezone(UTC).date() - timedelta(days=1)


def previous_day_request(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    """A run of yesterday's daily partition, keyed by the day, unless it is before TEEI_PARTITION_START."""
    day = previous_utc_day(context)
    if day < partition_start():
        return dg.SkipReason(f"{day} is before TEEI_PARTITION_START ({partition_start()})")
    return dg.RunRequest(run_key=day.isoformat(), partition_key=day.isoformat())
