"""Events area (events-webhooks.md): processing of stored webhook requests and the NATS event sensors."""

import dagster as dg

from teei_pipelines.defs.common import pending_work_sensor
from teei_pipelines.defs.events.kintell import process_kintell_webhooks
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
    jobs=[process_partner_callbacks, process_kintell_webhooks],
    sensors=[partner_callbacks_sensor, kintell_webhooks_sensor],
)
