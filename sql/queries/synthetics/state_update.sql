UPDATE synthetic_monitor_state
SET consecutive_failures = :consecutive_failures,
    last_success = :last_success,
    last_probe_at = :probed_at,
    open_incident_id = :open_incident_id,
    open_incident_started_at = :open_incident_started_at,
    updated_at = now()
WHERE monitor_type = :monitor_type AND target_key = :target_key
