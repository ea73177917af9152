SELECT campaign_id::text AS campaign_id, status::text AS status, enrolled_volunteers, enrolled_beneficiaries,
       total_sessions_held, total_hours_logged, sroi_score, average_vis_score, volunteers_consumed,
       credits_consumed, learners_served,
       outcome_scores::text AS outcome_scores  -- parsed only by snapshots, which need it
FROM program_instances
WHERE campaign_id = ANY(CAST(:campaign_ids AS uuid[]))
