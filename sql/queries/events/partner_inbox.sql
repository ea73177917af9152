-- events-webhooks.md §4-§5: partner callbacks not yet final, oldest first, locked for this run.
SELECT id::text, source, raw_body
FROM webhook_inbox
WHERE source IN ('benevity', 'goodera', 'workday') AND status IN ('received', 'published', 'failed')
ORDER BY received_at
LIMIT :limit
FOR UPDATE SKIP LOCKED
