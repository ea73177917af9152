-- events-webhooks.md §4: the oldest stored requests not yet on JetStream, locked for this relay pass.
SELECT id::text AS id, source, event_type, delivery_id, nats_subject, replay_count
FROM webhook_inbox
WHERE status = 'received' AND nats_subject IS NOT NULL
ORDER BY received_at, id
LIMIT :limit
FOR UPDATE SKIP LOCKED
