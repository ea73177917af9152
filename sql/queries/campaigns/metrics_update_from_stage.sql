-- Every staged rollup in one statement; never touches total_sessions_completed or budget_spent.
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
FROM campaign_rollups_stage v
WHERE c.id = v.id
