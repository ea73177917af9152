-- events-webhooks.md §4: after the PubAcks, one statement for the whole batch.
UPDATE webhook_inbox w
SET status = 'published', published_at = now(), nats_seq = acked.seq, last_error = NULL
FROM unnest(CAST(:ids AS uuid[]), CAST(:seqs AS bigint[])) AS acked(id, seq)
WHERE w.id = acked.id AND w.status = 'received'
