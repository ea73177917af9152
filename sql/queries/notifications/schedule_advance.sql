-- notifications.md §2: the schedule's newest handled tick, in the same transaction as its queue rows.
UPDATE notification_schedules
SET last_tick_at = :last_tick_at, last_error = NULL, updated_at = now()
WHERE id = CAST(:id AS uuid)
