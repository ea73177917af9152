-- Synthetic monitoring results (q2q-synthetics.md §10). Rollups are VIEWs computing percentiles at read time.
CREATE DATABASE IF NOT EXISTS {obs_db};

CREATE TABLE IF NOT EXISTS {obs_db}.synthetic_probes (
    timestamp               DateTime64(3, 'UTC'),
    probe_id                UUID,
    monitor_type            LowCardinality(String),
    region                  LowCardinality(String),
    tenant_id               String,
    success                 UInt8,
    response_time_ms        UInt32,
    error_message           Nullable(String),
    status_code             Nullable(UInt16),
    dns_lookup_ms           Nullable(UInt16),
    tcp_connection_ms       Nullable(UInt16),
    tls_handshake_ms        Nullable(UInt16),
    first_byte_ms           Nullable(UInt16),
    content_transfer_ms     Nullable(UInt16),
    within_performance_gate UInt8,
    performance_gate_ms     UInt32,
    file_size_bytes         Nullable(UInt64),
    content_hash            Nullable(String),
    components_count        Nullable(UInt16),
    components_failed       Nullable(UInt16),
    tags                    Map(String, String),
    date                    Date DEFAULT toDate(timestamp)
) ENGINE = MergeTree
PARTITION BY toYYYYMM(date)
ORDER BY (monitor_type, region, timestamp)
TTL date + INTERVAL 90 DAY;

CREATE TABLE IF NOT EXISTS {obs_db}.synthetic_incidents (
    incident_id          UUID,
    started_at           DateTime64(3, 'UTC'),
    resolved_at          Nullable(DateTime64(3, 'UTC')),
    monitor_type         LowCardinality(String),
    region               LowCardinality(String),
    tenant_id            String,
    severity             LowCardinality(String),
    consecutive_failures UInt16,
    error_message        String,
    resolved             UInt8,
    resolution_notes     String,
    version              UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(started_at)
ORDER BY (monitor_type, region, tenant_id, incident_id)
TTL toDateTime(started_at) + INTERVAL 90 DAY;

CREATE TABLE IF NOT EXISTS {obs_db}.connector_health (
    timestamp            DateTime64(3, 'UTC'),
    connector_name       LowCardinality(String),
    region               LowCardinality(String),
    healthy              UInt8,
    response_time_ms     UInt32,
    status_code          Nullable(UInt16),
    database_healthy     Nullable(UInt8),
    redis_healthy        Nullable(UInt8),
    queue_healthy        Nullable(UInt8),
    external_api_healthy Nullable(UInt8),
    version              Nullable(String),
    uptime_seconds       Nullable(UInt64),
    last_sync            Nullable(DateTime64(3, 'UTC')),
    error_message        Nullable(String)
) ENGINE = MergeTree
PARTITION BY toYYYYMM(timestamp)
ORDER BY (connector_name, region, timestamp)
TTL toDateTime(timestamp) + INTERVAL 30 DAY;

CREATE VIEW IF NOT EXISTS {obs_db}.synthetic_probes_hourly AS
SELECT
    monitor_type, region, tenant_id, toStartOfHour(timestamp) AS hour,
    countIf(success = 1) AS success_count,
    countIf(success = 0) AS failure_count,
    count() AS total_count,
    quantile(0.50)(response_time_ms) AS p50_ms,
    quantile(0.90)(response_time_ms) AS p90_ms,
    quantile(0.95)(response_time_ms) AS p95_ms,
    quantile(0.99)(response_time_ms) AS p99_ms,
    avg(response_time_ms) AS avg_ms,
    countIf(within_performance_gate = 1) AS within_gate_count
FROM {obs_db}.synthetic_probes
GROUP BY monitor_type, region, tenant_id, hour;

CREATE VIEW IF NOT EXISTS {obs_db}.synthetic_slo_daily AS
SELECT
    monitor_type, region, date AS day,
    100 * countIf(success = 1) / count() AS uptime_percentage,
    100 * countIf(within_performance_gate = 1) / count() AS gate_compliance_percentage,
    quantile(0.95)(response_time_ms) AS p95_ms,
    quantile(0.99)(response_time_ms) AS p99_ms,
    max(response_time_ms) AS max_ms
FROM {obs_db}.synthetic_probes
GROUP BY monitor_type, region, day;
