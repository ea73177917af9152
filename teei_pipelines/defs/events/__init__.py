"""Events area (events-webhooks.md): processing of stored webhook requests and the NATS event sensors."""

import dagster as dg

from teei_pipelines.defs.common import KINTELL_WEBHOOKS, pending_work_sensor
from teei_pipelines.defs.events.kintell import process_kintell_webhooks
from teei_pipelines.defs.events.nats_sensors import (
    PLATFORM_EVENTS,
    SUBSCRIPTIONS,
    nats_pipelines_trigger_sensor,
    process_events_job,
)
from teei_pipelines.defs.events.partners import process_partner_callbacks

partner_callbacks_sensor = pending_work_sensor(
    "partner_callbacks_sensor",
    process_partner_callbacks,
    "events/partner_pending_exists",
    "Requests process_partner_callbacks when Benevity, Goodera or Workday callbacks wait in webhook_inbox.",
)
kintell_webhooks_sensor = pending_work_sensor(
    "kintell_webhooks_sensor",
    process_kintell_webhooks,
    "kintell/pending_exists",
    "Requests process_kintell_webhooks when Kintell session or rating webhooks wait in webhook_inbox.",
)

defs = dg.Definitions(
    assets=[KINTELL_WEBHOOKS, PLATFORM_EVENTS],
    jobs=[process_partner_callbacks, process_kintell_webhooks, process_events_job],
    sensors=[partner_callbacks_sensor, kintell_webhooks_sensor, *SUBSCRIPTIONS, nats_pipelines_trigger_sensor],
)
