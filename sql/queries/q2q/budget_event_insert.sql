INSERT INTO q2q_budget_events
    (tenant_id, "window", period_start, event_type, threshold, budget_usd, spent_usd, request_id, reason)
VALUES
    (:tenant_id, :window, :period_start, :event_type, :threshold, :budget_usd, :spent_usd, :request_id, :reason)
