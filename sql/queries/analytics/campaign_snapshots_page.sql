-- analytics.md §2: campaign_metrics_snapshots rows (re-)written in the window, column for column.
SELECT campaign_id, snapshot_date,
       volunteers_target, volunteers_current, volunteers_utilization,
       beneficiaries_target, beneficiaries_current, beneficiaries_utilization,
       sessions_target, sessions_current, sessions_utilization,
       budget_allocated, budget_spent, budget_remaining, budget_utilization,
       sroi_score, average_vis_score, total_hours_logged, total_sessions_completed,
       seats_used, seats_committed, credits_consumed, credits_allocated, learners_served, learners_committed,
       full_snapshot, created_at,
       updated_at, id
FROM campaign_metrics_snapshots
WHERE updated_at >= %(window_start)s AND updated_at < %(window_end)s
  AND (updated_at, id) > (%(after_ts)s::timestamptz, %(after_id)s::uuid)
ORDER BY updated_at, id
LIMIT %(page_size)s
