-- events-webhooks.md §4: the inbox row's final (or failed) status after processing.
UPDATE webhook_inbox
SET status = :status, processed_at = now(), attempts = attempts + :attempt, last_error = :last_error
WHERE id = CAST(:id AS uuid)
