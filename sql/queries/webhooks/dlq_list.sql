-- events-webhooks.md §4 ops: dead webhook rows, newest first.
SELECT id::text, source, event_type, delivery_id, attempts, last_error, received_at, processed_at, replay_count
FROM webhook_inbox
WHERE status = 'dead'
ORDER BY processed_at DESC NULLS LAST, id
LIMIT :limit
