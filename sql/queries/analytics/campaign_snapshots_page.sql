-- analytics.md §2: campaign_metrics_snapshots rows (re-)written in the window, column for column.
-- ADBC binds $1 window start, $2 window end, $3/$4 the previous page's last (change column, id), $5 page size;
-- the last two columns are that keyset.
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
WHERE updated_at >= $1 AND updated_at < $2
  AND (updated_at, id) > ($3::timestamptz, $4::uuid)
ORDER BY updated_at, id
LIMIT $5
