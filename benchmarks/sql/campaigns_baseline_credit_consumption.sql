-- Kintell minutes completed in [H, H+1h), joined through program_instances.campaign_id (campaigns.md §7).
SELECT pi.campaign_id::text AS campaign_id, sum(ks.duration_minutes) AS minutes, count(*) AS sessions
FROM kintell_sessions ks
JOIN program_instances pi ON pi.id = ks.program_instance_id
WHERE pi.campaign_id = ANY(CAST(:campaign_ids AS uuid[]))
  AND ks.completed_at >= :period_start
  AND ks.completed_at < :period_end
  AND ks.duration_minutes > 0
GROUP BY pi.campaign_id
