-- notifications.md §8: delivery_status = the latest of delivered, bounced, spam, failed, unsubscribed by
-- received_at; opens and clicks never change it.
UPDATE notifications_queue q
SET delivery_status = latest.event_type, updated_at = now()
FROM (
    SELECT DISTINCT ON (notification_id) notification_id, event_type
    FROM notifications_delivery_receipts
    WHERE notification_id = ANY(CAST(:ids AS uuid[]))
      AND event_type IN ('delivered', 'bounced', 'spam', 'failed', 'unsubscribed')
    ORDER BY notification_id, received_at DESC
) latest
WHERE q.id = latest.notification_id
