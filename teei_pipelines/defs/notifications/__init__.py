"""Notifications area (notifications.md): schedule and queue sensors, the e-mail worker, delivery-status receipts."""

import dagster as dg

from teei_pipelines.defs.notifications.alerts import run_failure_alert_sensor
from teei_pipelines.defs.notifications.jobs import process_delivery_status, send_notifications
from teei_pipelines.defs.notifications.sensors import (
    delivery_status_sensor,
    notification_schedules_sensor,
    notifications_queue_sensor,
)

defs = dg.Definitions(
    jobs=[send_notifications, process_delivery_status],
    sensors=[
        notification_schedules_sensor,
        notifications_queue_sensor,
        delivery_status_sensor,
        run_failure_alert_sensor,
    ],
)
