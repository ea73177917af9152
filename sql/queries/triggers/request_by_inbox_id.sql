SELECT id::text, delivery_id, event_type, status, raw_body
FROM webhook_inbox
WHERE id = CAST(:id AS uuid) AND source = 'manual'
