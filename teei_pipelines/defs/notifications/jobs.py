"""Notification jobs: `send_notifications`, the e-mail worker (notifications.md §3; pool `notifications_worker`,
limit 1), and `process_delivery_status` (§8)."""

import dagster as dg

from teei_pipelines.defs.common import IO_RETRY, inbox_processing_job
from teei_pipelines.defs.notifications.delivery import process_delivery_inbox
from teei_pipelines.defs.notifications.worker import QuotaUnavailableError, Worker, WorkerSettings
from teei_pipelines.errors import ConfigError
from teei_pipelines.resources.email import EmailResource
from teei_pipelines.resources.postgres import PostgresResource

WORKER_POOL = "notifications_worker"


@dg.op(pool=WORKER_POOL, retry_policy=IO_RETRY, tags={"teei/area": "notifications"})
def send_queued_notifications(context: dg.OpExecutionContext, postgres: PostgresResource, email: EmailResource) -> dict:
    try:
        settings = WorkerSettings.from_env()
        worker = Worker(postgres.engine, email, context.run_id, settings)
        report = worker.run()
    except ConfigError as exc:
        raise dg.Failure(description=f"configuration error: {exc}", allow_retries=False) from exc
    except QuotaUnavailableError as exc:
        raise dg.Failure(description=f"fail closed: {exc}") from exc  # retried by IO_RETRY
    context.add_output_metadata(
        {
            "claimed": report.claimed,
            "sent": report.sent,
            "retried": report.retried,
            "failed": report.failed,
            "quota_denied": report.quota_denied,
            "batches": report.batches,
            "duration_s": round(report.seconds, 3),
            "sends_per_s": round(report.sends_per_second, 1),
            "provider": email.provider,
            "failures": "\n".join(report.failures) or "none",
        }
    )
    return {"sent": report.sent, "failed": report.failed}


@dg.job(
    name="send_notifications",
    description=(
        "The e-mail worker: claims queued rows (FOR UPDATE SKIP LOCKED), reserves quotas, renders, sends, and "
        "records sent / retry / failed, until nothing is claimable or EMAIL_WORKER_MAX_SECONDS pass."
    ),
    tags={"teei/area": "notifications"},
)
def send_notifications():
    send_queued_notifications()


process_delivery_status = inbox_processing_job(
    "process_delivery_status",
    process_delivery_inbox,
    "Provider delivery webhooks stored by the receiver → receipts and delivery_status (notifications.md §8).",
    "notifications",
)
