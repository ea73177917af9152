-- §3: open the next period's rows (spent 0, warned []) for every configured tenant and every tenant that spent
-- in the closing period. ON CONFLICT DO NOTHING: a row that already holds charges is never zeroed.
INSERT INTO q2q_budget_usage (tenant_id, "window", period_start)
SELECT tenant_id, CAST(:window AS varchar), CAST(:next_start AS date) FROM q2q_budgets
UNION
SELECT tenant_id, :window, :next_start FROM q2q_budget_usage WHERE "window" = :window AND period_start = :closing_start
ON CONFLICT DO NOTHING
