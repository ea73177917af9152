SELECT EXISTS (
    SELECT 1 FROM webhook_inbox WHERE source = 'kintell' AND status IN ('received', 'published', 'failed')
)
