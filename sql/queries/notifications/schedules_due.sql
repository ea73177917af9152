-- notifications.md §2: enabled schedules, each locked for this evaluation (a concurrent one skips it).
SELECT id::text AS id, company_id::text AS company_id, name, cron_expression, timezone, type, template_id,
       recipients, subject, payload, start_at, end_at, last_tick_at, last_error, created_at
FROM notification_schedules
WHERE enabled
ORDER BY id
FOR UPDATE SKIP LOCKED
