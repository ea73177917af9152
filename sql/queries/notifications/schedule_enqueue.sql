-- notifications.md §2: one queue row per recipient and tick; the dedup key makes a repeated tick a no-op.
INSERT INTO notifications_queue (company_id, type, channel, template_id, recipient, subject, payload, status,
                                 scheduled_at, dedup_key, schedule_id)
VALUES (CAST(:company_id AS uuid), :type, :channel, :template_id, :recipient, :subject, CAST(:payload AS jsonb),
        'queued', :scheduled_at, :dedup_key, CAST(:schedule_id AS uuid))
ON CONFLICT (dedup_key) DO NOTHING
