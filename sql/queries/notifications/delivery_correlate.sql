-- notifications.md §8: the queue row by the notification id the provider echoed, else by its message id
-- (both indexed: the primary key and notifications_queue_provider_message_idx).
SELECT id::text FROM notifications_queue
WHERE id = CAST(:notification_id AS uuid)
UNION ALL
(SELECT id::text FROM notifications_queue WHERE provider_message_id = CAST(:provider_message_id AS text) LIMIT 1)
LIMIT 1
