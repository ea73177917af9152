-- notifications.md §3: is at least one row claimable now?
SELECT EXISTS (
    SELECT 1 FROM notifications_queue
    WHERE status = 'queued'
      AND (scheduled_at IS NULL OR scheduled_at <= now())
      AND (next_attempt_at IS NULL OR next_attempt_at <= now())
)
