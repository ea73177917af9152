-- notifications.md §8: delivery-status requests not yet final, oldest first, locked for this run.
SELECT id::text, source, delivery_id, raw_body, attempts
FROM webhook_inbox
WHERE source IN ('sendgrid', 'resend', 'twilio') AND status IN ('received', 'published', 'failed')
ORDER BY received_at
LIMIT :limit
FOR UPDATE SKIP LOCKED
