-- events-webhooks.md §5: is any partner callback waiting to be processed?
SELECT EXISTS (
    SELECT 1 FROM webhook_inbox
    WHERE source IN ('benevity', 'goodera', 'workday') AND status IN ('received', 'published', 'failed')
)
