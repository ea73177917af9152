INSERT INTO synthetic_monitor_state (monitor_type, target_key) VALUES (:monitor_type, :target_key)
ON CONFLICT DO NOTHING
