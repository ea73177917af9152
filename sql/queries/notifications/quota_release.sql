-- notifications.md §3: a failed send gives its reservation back (never below 0; not across a day boundary).
UPDATE notifications_quotas
SET email_daily_used = greatest(email_daily_used - CASE WHEN :kind = 'email' THEN 1 ELSE 0 END, 0),
    sms_daily_used = greatest(sms_daily_used - CASE WHEN :kind = 'sms' THEN 1 ELSE 0 END, 0),
    push_daily_used = greatest(push_daily_used - CASE WHEN :kind = 'push' THEN 1 ELSE 0 END, 0),
    updated_at = now()
WHERE company_id = CAST(:company_id AS uuid) AND quota_date = :today
