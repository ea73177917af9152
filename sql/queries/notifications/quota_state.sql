-- notifications.md §4: limit and used of :kind today, for the denial message.
SELECT CASE :kind WHEN 'email' THEN email_daily_limit WHEN 'sms' THEN sms_daily_limit ELSE push_daily_limit END,
       CASE WHEN quota_date < :today THEN 0
            ELSE CASE :kind WHEN 'email' THEN email_daily_used WHEN 'sms' THEN sms_daily_used
                            ELSE push_daily_used END END
FROM notifications_quotas WHERE company_id = CAST(:company_id AS uuid)
