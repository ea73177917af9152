-- notifications.md §8: is any delivery-status request waiting to be processed?
SELECT EXISTS (
    SELECT 1 FROM webhook_inbox
    WHERE source IN ('sendgrid', 'resend', 'twilio') AND status IN ('received', 'published', 'failed')
)
