-- Producers enqueue with a unique dedup_key; a re-run inserts nothing (notifications.md §1).
INSERT INTO notifications_queue (company_id, type, channel, template_id, recipient, subject, payload, status,
                                 dedup_key)
VALUES (:company_id, 'email', :channel, :template_id, :recipient, :subject, CAST(:payload AS jsonb), 'queued',
        :dedup_key)
ON CONFLICT (dedup_key) DO NOTHING
