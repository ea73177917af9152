-- §2 step 1: both period rows exist before they are locked; an existing row keeps its charges.
INSERT INTO q2q_budget_usage (tenant_id, "window", period_start)
VALUES (:tenant_id, 'monthly', :month_start), (:tenant_id, 'daily', :day_start)
ON CONFLICT DO NOTHING
