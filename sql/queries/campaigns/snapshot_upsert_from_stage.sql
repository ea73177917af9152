-- Every staged snapshot upserted on (campaign_id, snapshot_date): every value replaced, updated_at = now (§5).
INSERT INTO campaign_metrics_snapshots (
    campaign_id, snapshot_date, volunteers_target, volunteers_current, volunteers_utilization, beneficiaries_target,
    beneficiaries_current, beneficiaries_utilization, sessions_target, sessions_current, sessions_utilization,
    budget_allocated, budget_spent, budget_remaining, budget_utilization, sroi_score, average_vis_score,
    total_hours_logged, total_sessions_completed, seats_used, seats_committed, credits_consumed, credits_allocated,
    learners_served, learners_committed, full_snapshot
)
SELECT campaign_id, snapshot_date, volunteers_target, volunteers_current, volunteers_utilization, beneficiaries_target,
       beneficiaries_current, beneficiaries_utilization, sessions_target, sessions_current, sessions_utilization,
       budget_allocated, budget_spent, budget_remaining, budget_utilization, sroi_score, average_vis_score,
       total_hours_logged, total_sessions_completed, seats_used, seats_committed, credits_consumed, credits_allocated,
       learners_served, learners_committed, full_snapshot
FROM snapshots_stage
ON CONFLICT (campaign_id, snapshot_date) DO UPDATE SET
    volunteers_target = EXCLUDED.volunteers_target, volunteers_current = EXCLUDED.volunteers_current,
    volunteers_utilization = EXCLUDED.volunteers_utilization, beneficiaries_target = EXCLUDED.beneficiaries_target,
    beneficiaries_current = EXCLUDED.beneficiaries_current,
    beneficiaries_utilization = EXCLUDED.beneficiaries_utilization, sessions_target = EXCLUDED.sessions_target,
    sessions_current = EXCLUDED.sessions_current, sessions_utilization = EXCLUDED.sessions_utilization,
    budget_allocated = EXCLUDED.budget_allocated, budget_spent = EXCLUDED.budget_spent,
    budget_remaining = EXCLUDED.budget_remaining, budget_utilization = EXCLUDED.budget_utilization,
    sroi_score = EXCLUDED.sroi_score, average_vis_score = EXCLUDED.average_vis_score,
    total_hours_logged = EXCLUDED.total_hours_logged, total_sessions_completed = EXCLUDED.total_sessions_completed,
    seats_used = EXCLUDED.seats_used, seats_committed = EXCLUDED.seats_committed,
    credits_consumed = EXCLUDED.credits_consumed, credits_allocated = EXCLUDED.credits_allocated,
    learners_served = EXCLUDED.learners_served, learners_committed = EXCLUDED.learners_committed,
    full_snapshot = EXCLUDED.full_snapshot, updated_at = now()
