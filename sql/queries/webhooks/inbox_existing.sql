-- events-webhooks.md §2: the stored body hash of a repeated delivery (same body = duplicate, else conflict).
SELECT id::text, body_sha256 FROM webhook_inbox WHERE source = :source AND delivery_id = :delivery_id
