UPDATE q2q_budget_usage
SET spent_usd = :spent_usd, warned_thresholds = :warned_thresholds, updated_at = now()
WHERE tenant_id = :tenant_id AND "window" = :window AND period_start = :period_start
