-- events-webhooks.md §2 step 6: store the verified request before answering; a replay inserts nothing.
INSERT INTO webhook_inbox (source, endpoint, event_type, delivery_id, headers, raw_body, body_sha256, content_type,
                           nats_subject)
VALUES (:source, :endpoint, :event_type, :delivery_id, CAST(:headers AS jsonb), :raw_body, :body_sha256,
        :content_type, :nats_subject)
ON CONFLICT (source, delivery_id) DO NOTHING
RETURNING id::text
