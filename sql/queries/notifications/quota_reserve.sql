-- notifications.md §4: one atomic conditional UPDATE. A new UTC day resets the three counters, then the counter
-- of :kind is incremented only while it is below its limit. No row returned = denied.
UPDATE notifications_quotas q
SET quota_date = :today,
    last_reset_at = CASE WHEN q.quota_date < :today THEN now() ELSE q.last_reset_at END,
    email_daily_used = (CASE WHEN q.quota_date < :today THEN 0 ELSE q.email_daily_used END)
                       + CASE WHEN :kind = 'email' THEN 1 ELSE 0 END,
    sms_daily_used = (CASE WHEN q.quota_date < :today THEN 0 ELSE q.sms_daily_used END)
                     + CASE WHEN :kind = 'sms' THEN 1 ELSE 0 END,
    push_daily_used = (CASE WHEN q.quota_date < :today THEN 0 ELSE q.push_daily_used END)
                      + CASE WHEN :kind = 'push' THEN 1 ELSE 0 END,
    updated_at = now()
WHERE q.company_id = CAST(:company_id AS uuid)
  AND (CASE WHEN q.quota_date < :today THEN 0
            ELSE CASE :kind WHEN 'email' THEN q.email_daily_used WHEN 'sms' THEN q.sms_daily_used
                            ELSE q.push_daily_used END END)
      < CASE :kind WHEN 'email' THEN q.email_daily_limit WHEN 'sms' THEN q.sms_daily_limit
                   ELSE q.push_daily_limit END
RETURNING q.id
