-- §3: each tenant's closing spend for the period that ended.
SELECT tenant_id, spent_usd, warned_thresholds
FROM q2q_budget_usage
WHERE "window" = :window AND period_start = :closing_start
ORDER BY tenant_id
