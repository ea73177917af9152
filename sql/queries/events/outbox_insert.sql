-- A domain event for the relay; the deterministic msg_id makes re-runs write nothing new.
INSERT INTO event_outbox (subject, msg_id, payload)
VALUES (:subject, :msg_id, CAST(:payload AS jsonb))
ON CONFLICT (msg_id) DO NOTHING
RETURNING id
