-- Domain events in a batch (executemany); rows whose msg_id exists are kept as they are.
INSERT INTO event_outbox (subject, msg_id, payload)
VALUES (:subject, :msg_id, CAST(:payload AS jsonb))
ON CONFLICT (msg_id) DO NOTHING
