-- Capacity alerts inside the longest throttle window (24 h before T), for the throttle (campaigns.md §4).
SELECT campaign_id::text AS campaign_id, threshold::float8 AS threshold, created_at
FROM capacity_alerts
WHERE alert_type = 'capacity'
  AND campaign_id = ANY(CAST(:campaign_ids AS uuid[]))
  AND created_at > :since
