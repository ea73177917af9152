-- notifications.md §3: a delivered row (executemany).
UPDATE notifications_queue
SET status = 'sent', sent_at = now(), provider = :provider, provider_message_id = :provider_message_id,
    failure_reason = NULL, next_attempt_at = NULL, locked_at = NULL, locked_by = NULL, updated_at = now()
WHERE id = CAST(:id AS uuid)
