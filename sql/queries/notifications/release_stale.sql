-- notifications.md §3: claims older than 10 minutes (a crashed run) go back to the queue; that attempt counts.
UPDATE notifications_queue
SET status = 'queued', locked_at = NULL, locked_by = NULL, retry_count = retry_count + 1, updated_at = now()
WHERE status = 'sending' AND locked_at < now() - interval '10 minutes'
