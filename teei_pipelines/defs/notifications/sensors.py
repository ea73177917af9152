"""Notification sensors (notifications.md §2-§3): schedules → queue rows, queue rows → worker runs."""

from datetime import UTC, datetime

import dagster as dg
import sqlalchemy as sa

from teei_pipelines.defs.common import job_running, pending_work_sensor
from teei_pipelines.defs.notifications.jobs import process_delivery_status, send_notifications
from teei_pipelines.defs.notifications.scheduler import enqueue_due_ticks
from teei_pipelines.pgio import query
from teei_pipelines.resources.postgres import PostgresResource


@dg.sensor(
    name="notification_schedules_sensor",
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Evaluates notification_schedules (cron + IANA timezone per row) and enqueues one row per recipient for "
        "each due tick since the row's last_tick_at; bad rows are reported once and skipped."
    ),
)
def notification_schedules_sensor(context: dg.SensorEvaluationContext, postgres: PostgresResource):
    report = enqueue_due_ticks(postgres.engine, datetime.now(UTC))
    for problem in report.invalid:
        context.log.warning("notification schedule skipped: %s", problem)
    return dg.SkipReason(
        f"{report.schedules} schedules, {report.ticks} due ticks → {report.rows} queue rows, "
        f"{report.skipped_late} late ticks skipped, {len(report.invalid)} newly invalid"
    )


@dg.sensor(
    name="notifications_queue_sensor",
    job=send_notifications,
    minimum_interval_seconds=15,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Requests a send_notifications run when a row is claimable and no worker run is in progress.",
)
def notifications_queue_sensor(context: dg.SensorEvaluationContext, postgres: PostgresResource):
    in_progress = job_running(context.instance, send_notifications.name)
    if in_progress:
        return dg.SkipReason("a send_notifications run is in progress")
    with postgres.connect() as connection:
        claimable = connection.execute(sa.text(query("notifications/claimable_exists"))).scalar_one()
    if not claimable:
        return dg.SkipReason("nothing claimable")
    return dg.RunRequest(run_key=f"email_worker:{datetime.now(UTC).isoformat()}")


delivery_status_sensor = pending_work_sensor(
    "delivery_status_sensor",
    process_delivery_status,
    "notifications/delivery_pending_exists",
    "Requests process_delivery_status when provider webhooks wait in webhook_inbox.",
)
