SELECT dedup_key, id FROM notifications_queue WHERE dedup_key = ANY(:dedup_keys)
