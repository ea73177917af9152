-- notifications.md §2: reject schedules whose timezone is unknown or whose cron expression does not have five
-- fields when they are written. The sensor still validates each row with cronsim and reports a bad one once.
ALTER TABLE notification_schedules
    ADD CONSTRAINT notification_schedules_timezone_known
        CHECK (timezone(timezone, TIMESTAMPTZ '2000-01-01 00:00:00+00') IS NOT NULL),
    ADD CONSTRAINT notification_schedules_cron_five_fields
        CHECK (cron_expression ~ '^\s*\S+\s+\S+\s+\S+\s+\S+\s+\S+\s*$');
