-- The tenant's budget row (q2q-synthetics.md §1); no row means the defaults.
SELECT monthly_budget_usd, daily_budget_usd, allow_override
FROM q2q_budgets
WHERE tenant_id = :tenant_id
