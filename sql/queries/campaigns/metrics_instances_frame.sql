-- The program instances of the campaigns metrics_campaigns_frame selects (the same filter), in one Arrow frame.
-- numeric columns travel as their exact text, which polars parses: ADBC's binary numeric decoding was the
-- slowest part of this read (instances at 75,000 rows: 0.32 s with binary numerics, 0.20 s as text).
SELECT pi.campaign_id::text AS campaign_id, pi.status::text AS status, pi.enrolled_volunteers,
       pi.enrolled_beneficiaries, pi.total_sessions_held, pi.total_hours_logged::text AS total_hours_logged,
       pi.sroi_score::text AS sroi_score, pi.average_vis_score::text AS average_vis_score,
       pi.volunteers_consumed, pi.credits_consumed::text AS credits_consumed, pi.learners_served,
       pi.outcome_scores::text AS outcome_scores  -- parsed only by snapshots, which need it
FROM program_instances pi
JOIN campaigns c ON c.id = pi.campaign_id
WHERE CASE
          WHEN CAST({campaign_id} AS uuid) IS NULL THEN c.is_active AND c.status IN ('active', 'recruiting', 'paused')
          ELSE c.id = CAST({campaign_id} AS uuid)
      END
