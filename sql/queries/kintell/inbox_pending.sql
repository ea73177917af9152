-- events-webhooks.md §4-§5: Kintell requests not yet final, oldest first, locked for this run.
SELECT id::text, event_type, raw_body, attempts, received_at
FROM webhook_inbox
WHERE source = 'kintell' AND status IN ('received', 'published', 'failed')
ORDER BY received_at
LIMIT :limit
FOR UPDATE SKIP LOCKED
