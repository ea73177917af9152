"""Run-failure alerts (notifications.md §7): every failed run except send_notifications enqueues `job-failed`
to each ALERT_EMAIL_TO address, deduplicated per run (`run_failed:<run_id>:<recipient>`)."""

import dagster as dg

from teei_pipelines.defs.notifications.jobs import send_notifications
from teei_pipelines.domain.templates import CATALOGUE
from teei_pipelines.notify import enqueue_email
from teei_pipelines.resources.postgres import PostgresResource
from teei_pipelines.settings import alert_recipients, env

ERROR_CHARS = 2000


def job_failed_payload(run: dg.DagsterRun, step_failures: list, fallback_error: str, base_url: str) -> dict:
    step_key = step_failures[0].step_key if step_failures else None
    if step_failures and step_failures[0].step_failure_data and step_failures[0].step_failure_data.error:
        error = step_failures[0].step_failure_data.error.to_string()
    else:
        error = fallback_error
    return {
        "jobName": run.job_name,
        "runId": run.run_id,
        "partitionKey": run.tags.get("dagster/partition")
        or "…".join(
            filter(
                None,
                (
                    run.tags.get("dagster/asset_partition_range_start"),
                    run.tags.get("dagster/asset_partition_range_end"),
                ),
            )
        )
        or None,
        "stepKey": step_key,
        "error": error[:ERROR_CHARS],
        "dagsterUrl": f"{base_url.rstrip('/')}/runs/{run.run_id}",
    }


@dg.run_failure_sensor(
    name="run_failure_alert_sensor",
    monitor_all_code_locations=False,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Enqueues the job-failed e-mail for every failed run (send_notifications' own failures are logged).",
)
def run_failure_alert_sensor(context: dg.RunFailureSensorContext, postgres: PostgresResource):
    run = context.dagster_run
    if run.job_name == send_notifications.name:
        context.log.error("send_notifications run %s failed; no alert (it could not be delivered)", run.run_id)
        return
    payload = job_failed_payload(
        run,
        context.get_step_failure_events(),
        context.failure_event.message or "run failed",
        env("DAGSTER_WEBSERVER_URL", "http://127.0.0.1:3000"),
    )
    with postgres.begin() as connection:
        enqueue_email(
            connection,
            template_id="job-failed",
            subject=CATALOGUE["job-failed"],
            payload=payload,
            dedup_key=f"run_failed:{run.run_id}",
            recipients=alert_recipients(),
        )
