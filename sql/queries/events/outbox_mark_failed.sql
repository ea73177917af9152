UPDATE event_outbox SET attempts = attempts + 1, last_error = :error WHERE id = :id
