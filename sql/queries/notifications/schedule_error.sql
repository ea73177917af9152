-- notifications.md §2: record why a schedule is skipped; unchanged errors are not written (reported once).
UPDATE notification_schedules
SET last_error = :error, updated_at = now()
WHERE id = CAST(:id AS uuid) AND last_error IS DISTINCT FROM :error
RETURNING id
