-- A transaction-scoped staging table shaped like campaign_metrics_snapshots' value columns, filled by COPY.
CREATE TEMP TABLE snapshots_stage ON COMMIT DROP AS
SELECT campaign_id, snapshot_date, volunteers_target, volunteers_current, volunteers_utilization, beneficiaries_target,
       beneficiaries_current, beneficiaries_utilization, sessions_target, sessions_current, sessions_utilization,
       budget_allocated, budget_spent, budget_remaining, budget_utilization, sroi_score, average_vis_score,
       total_hours_logged, total_sessions_completed, seats_used, seats_committed, credits_consumed, credits_allocated,
       learners_served, learners_committed, full_snapshot
FROM campaign_metrics_snapshots
WITH NO DATA
