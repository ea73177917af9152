-- notifications.md §4: the company's quota row, created lazily with the configured limits.
INSERT INTO notifications_quotas (company_id, email_daily_limit, sms_daily_limit, push_daily_limit, quota_date)
VALUES (CAST(:company_id AS uuid), :email_limit, :sms_limit, :push_limit, :today)
ON CONFLICT (company_id) DO NOTHING
