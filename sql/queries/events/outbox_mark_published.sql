UPDATE event_outbox SET published_at = now(), nats_seq = :seq, last_error = NULL WHERE id = :id
