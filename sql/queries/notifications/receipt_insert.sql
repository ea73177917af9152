-- notifications.md §3, §8: a receipt, once per (provider, provider_event_id) (executemany).
INSERT INTO notifications_delivery_receipts (notification_id, event_type, event_data, received_at, provider,
                                             provider_event_id)
VALUES (CAST(:notification_id AS uuid), :event_type, CAST(:event_data AS jsonb), COALESCE(:received_at, now()),
        :provider, :provider_event_id)
ON CONFLICT (provider, provider_event_id) DO NOTHING
