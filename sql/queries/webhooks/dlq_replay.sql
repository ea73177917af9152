-- §4 replay: a dead row goes back to `received` with its attempts reset; the relay republishes it under
-- `<inbox id>:replay:<n>` so JetStream's duplicate window does not swallow it.
UPDATE webhook_inbox
SET status = 'received', attempts = 0, replay_count = replay_count + 1, last_error = NULL, processed_at = NULL
WHERE source = :source AND delivery_id = :delivery_id AND status = 'dead'
RETURNING id::text, replay_count
