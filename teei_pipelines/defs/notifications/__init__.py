"""Notifications area (notifications.md): the schedule sensor, the queue sensor and the e-mail worker job."""

import dagster as dg

from teei_pipelines.defs.notifications.jobs import send_notifications
from teei_pipelines.defs.notifications.sensors import notification_schedules_sensor, notifications_queue_sensor

defs = dg.Definitions(
    jobs=[send_notifications],
    sensors=[notification_schedules_sensor, notifications_queue_sensor],
)
