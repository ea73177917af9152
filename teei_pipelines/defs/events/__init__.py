"""Events area (events-webhooks.md): processing of stored webhook requests. The NATS sensors come here too."""

import dagster as dg

from teei_pipelines.defs.common import pending_work_sensor
from teei_pipelines.defs.events.partners import process_partner_callbacks

partner_callbacks_sensor = pending_work_sensor(
    "partner_callbacks_sensor",
    process_partner_callbacks,
    "events/partner_pending_exists",
    "Requests process_partner_callbacks when Benevity, Goodera or Workday callbacks wait in webhook_inbox.",
)

defs = dg.Definitions(jobs=[process_partner_callbacks], sensors=[partner_callbacks_sensor])
