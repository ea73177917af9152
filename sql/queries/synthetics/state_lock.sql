-- The counters of this run's (monitor, target) pairs, locked in one order so overlapping runs cannot deadlock.
SELECT monitor_type, target_key, consecutive_failures, open_incident_id, open_incident_started_at
FROM synthetic_monitor_state
WHERE (monitor_type, target_key) IN (SELECT * FROM unnest(CAST(:monitor_types AS text[]), CAST(:target_keys AS text[])))
ORDER BY monitor_type, target_key
FOR UPDATE
