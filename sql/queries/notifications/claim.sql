-- notifications.md §3: claim up to :batch claimable rows in one transaction; concurrent workers skip locked rows.
UPDATE notifications_queue q
SET status = 'sending', locked_at = now(), locked_by = :run_id, updated_at = now()
WHERE q.id IN (
    SELECT id FROM notifications_queue
    WHERE status = 'queued'
      AND (scheduled_at IS NULL OR scheduled_at <= now())
      AND (next_attempt_at IS NULL OR next_attempt_at <= now())
    ORDER BY created_at
    LIMIT :batch
    FOR UPDATE SKIP LOCKED
)
RETURNING q.id::text AS id, q.company_id::text AS company_id, q.type, q.channel, q.template_id, q.recipient,
          q.subject, q.payload, q.retry_count, q.created_at
