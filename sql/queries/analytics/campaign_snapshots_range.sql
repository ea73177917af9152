-- analytics.md §2: campaign_metrics_snapshots rows (re-)written in the window, column for column.
-- Streamed through ADBC's binary COPY: {range_start} and {range_end} are bound as SQL literals (pgio.literal_sql), as
-- COPY takes no bind parameters.
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
WHERE updated_at >= {range_start} AND updated_at < {range_end}
