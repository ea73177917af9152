-- Open incidents of the given monitor types (the no_open_critical_incident check).
SELECT monitor_type, target_key, open_incident_id, open_incident_started_at, consecutive_failures
FROM synthetic_monitor_state
WHERE open_incident_id IS NOT NULL AND monitor_type = ANY(CAST(:monitor_types AS text[]))
ORDER BY monitor_type, target_key
