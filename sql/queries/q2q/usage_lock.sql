-- §2 step 1: lock both rows, monthly first, so concurrent chargers queue in one order and never deadlock.
SELECT "window", period_start, spent_usd, warned_thresholds
FROM q2q_budget_usage
WHERE tenant_id = :tenant_id
  AND (("window" = 'monthly' AND period_start = :month_start) OR ("window" = 'daily' AND period_start = :day_start))
ORDER BY "window" DESC
FOR UPDATE
