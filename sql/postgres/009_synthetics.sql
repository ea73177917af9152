-- Synthetic monitor failure counters and open incidents (q2q-synthetics.md §10).
CREATE TABLE synthetic_monitor_state (
    monitor_type            varchar(50) NOT NULL,
    target_key              varchar(100) NOT NULL,
    consecutive_failures    int NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0),
    last_success            boolean,
    last_probe_at           timestamptz,
    open_incident_id        uuid,
    open_incident_started_at timestamptz,
    updated_at              timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (monitor_type, target_key)
);
