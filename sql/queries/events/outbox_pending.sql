SELECT id, subject, msg_id, payload::text AS payload
FROM event_outbox
WHERE published_at IS NULL
ORDER BY created_at, id
LIMIT :limit
FOR UPDATE SKIP LOCKED
