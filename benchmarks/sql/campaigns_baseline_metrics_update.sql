-- Every refreshed campaign in one statement; never touches total_sessions_completed or budget_spent.
UPDATE campaigns c
SET current_volunteers     = v.current_volunteers,
    current_beneficiaries  = v.current_beneficiaries,
    current_sessions       = v.current_sessions,
    total_hours_logged     = v.total_hours_logged,
    cumulative_sroi        = v.cumulative_sroi,
    average_vis            = v.average_vis,
    capacity_utilization   = v.capacity_utilization,
    is_near_capacity       = v.is_near_capacity,
    is_over_capacity       = v.is_over_capacity,
    last_metrics_update_at = now(),
    updated_at             = now()
FROM unnest(
    CAST(:ids AS uuid[]), CAST(:current_volunteers AS int[]), CAST(:current_beneficiaries AS int[]),
    CAST(:current_sessions AS int[]), CAST(:total_hours_logged AS numeric[]), CAST(:cumulative_sroi AS numeric[]),
    CAST(:average_vis AS numeric[]), CAST(:capacity_utilization AS numeric[]), CAST(:is_near_capacity AS bool[]),
    CAST(:is_over_capacity AS bool[])
) AS v (id, current_volunteers, current_beneficiaries, current_sessions, total_hours_logged, cumulative_sroi,
        average_vis, capacity_utilization, is_near_capacity, is_over_capacity)
WHERE c.id = v.id
