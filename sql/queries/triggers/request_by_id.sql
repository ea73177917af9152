-- A manual trigger request (events-webhooks.md §9) by its request id.
SELECT id::text, event_type, status, received_at, raw_body
FROM webhook_inbox
WHERE source = 'manual' AND delivery_id = :id
