-- notifications.md §4: back to the queue without counting an attempt (quota denied, or the quota step failed).
UPDATE notifications_queue
SET status = 'queued', failure_reason = :failure_reason, next_attempt_at = :next_attempt_at,
    locked_at = NULL, locked_by = NULL, updated_at = now()
WHERE id = CAST(:id AS uuid)
