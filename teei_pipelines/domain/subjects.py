"""The JetStream stream and its subjects (events-webhooks.md §6)."""

STREAM_NAME = "TEEI_EVENTS"

STREAM_SUBJECTS: tuple[str, ...] = (
    "kintell.>",
    "buddy.>",
    "user.>",
    "campaign.>",
    "report.>",
    "reporting.>",
    "analytics.>",
    "slo.>",
    "privacy.>",
    "upskilling.>",
    "webhooks.>",
    "webhook.dlq",
    "pipelines.trigger.>",
)

STREAM_MAX_AGE_SECONDS = 7 * 24 * 3600
STREAM_DUPLICATE_WINDOW_SECONDS = 10 * 60

ANALYTICS_SYNCED = "analytics.synced"
