-- notifications.md §3: a failed attempt: back to the queue with a backoff, or failed for good (executemany).
UPDATE notifications_queue
SET status = :status, retry_count = :retry_count, failure_reason = :failure_reason,
    next_attempt_at = :next_attempt_at, locked_at = NULL, locked_by = NULL, updated_at = now()
WHERE id = CAST(:id AS uuid)
