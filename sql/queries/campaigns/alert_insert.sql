INSERT INTO capacity_alerts (campaign_id, alert_type, threshold, band, severity, utilization, utilization_percent,
                             recipients, metadata, partition_key, dedup_key, notification_id, notified_at)
VALUES (:campaign_id, :alert_type, :threshold, :band, :severity, :utilization, :utilization_percent,
        CAST(:recipients AS jsonb), CAST(:metadata AS jsonb), :partition_key, :dedup_key,
        CAST(:notification_id AS uuid), CASE WHEN CAST(:notification_id AS uuid) IS NULL THEN NULL ELSE now() END)
ON CONFLICT (dedup_key) DO NOTHING
RETURNING id
