-- Active campaigns whose newest snapshot is older than their frequency (plus one hour for the schedule's lag).
SELECT c.id::text AS campaign_id, c.current_sessions, max(s.snapshot_date) AS newest
FROM campaigns c
LEFT JOIN campaign_metrics_snapshots s ON s.campaign_id = c.id
WHERE c.is_active AND c.status = 'active'
GROUP BY c.id, c.current_sessions
