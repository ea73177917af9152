-- Usage rows above their budget for tenants that may not override (the default budget applies without a row).
SELECT u.tenant_id, u."window", u.period_start, u.spent_usd
FROM q2q_budget_usage u
LEFT JOIN q2q_budgets b ON b.tenant_id = u.tenant_id
WHERE NOT coalesce(b.allow_override, false)
  AND u.spent_usd > CASE
        WHEN u."window" = 'monthly' THEN coalesce(b.monthly_budget_usd, :default_monthly)
        ELSE coalesce(b.daily_budget_usd, coalesce(b.monthly_budget_usd, :default_monthly) / 30)
    END
ORDER BY u.tenant_id, u."window", u.period_start
