-- events-webhooks.md §4: after the PubAck (executemany).
UPDATE webhook_inbox SET status = 'published', published_at = now(), nats_seq = :seq, last_error = NULL
WHERE id = CAST(:id AS uuid) AND status = 'received'
