-- §4: the third transient failure: the row is dead (a webhook.dlq event carries it to operators).
UPDATE webhook_inbox
SET status = 'dead', processed_at = now(), attempts = attempts + 1, last_error = :last_error
WHERE id = CAST(:id AS uuid)
RETURNING delivery_id, source, event_type, convert_from(raw_body, 'UTF8') AS payload, attempts, received_at
