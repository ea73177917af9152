-- FinOps telemetry (read) and cost_facts (analytics.md §6-7). cost_facts' key includes region and service, and
-- rollups are plain VIEWs over cost_facts FINAL: no insert-triggered SummingMergeTree that a replace would double.
CREATE TABLE IF NOT EXISTS {analytics_db}.ai_token_telemetry (
    tenant_id     String,
    request_id    String,
    model         LowCardinality(String),
    region        LowCardinality(String),
    service       LowCardinality(String),
    input_tokens  UInt64,
    output_tokens UInt64,
    total_tokens  UInt64,
    cost_usd      Decimal(10, 6),
    latency_ms    UInt32,
    user_id       String,
    metadata      String,
    timestamp     DateTime64(3, 'UTC')
) ENGINE = MergeTree
PARTITION BY toYYYYMM(timestamp)
ORDER BY (tenant_id, timestamp, model);

CREATE TABLE IF NOT EXISTS {analytics_db}.compute_telemetry (
    tenant_id       String,
    job_id          String,
    service         LowCardinality(String),
    region          LowCardinality(String),
    instance_type   LowCardinality(String),
    runtime_seconds Float64,
    cost_usd        Decimal(10, 6),
    timestamp       DateTime64(3, 'UTC')
) ENGINE = MergeTree
PARTITION BY toYYYYMM(timestamp)
ORDER BY (tenant_id, timestamp);

CREATE TABLE IF NOT EXISTS {analytics_db}.storage_telemetry (
    tenant_id     String,
    storage_type  LowCardinality(String),
    region        LowCardinality(String),
    bytes_stored  UInt64,
    cost_usd      Decimal(10, 6),
    snapshot_date Date,
    created_at    DateTime
) ENGINE = ReplacingMergeTree(created_at)
PARTITION BY toYYYYMM(snapshot_date)
ORDER BY (tenant_id, snapshot_date, storage_type, region);

CREATE TABLE IF NOT EXISTS {analytics_db}.export_telemetry (
    tenant_id       String,
    export_type     LowCardinality(String),
    report_type     LowCardinality(String),
    file_size_bytes UInt64,
    cost_usd        Decimal(10, 6),
    timestamp       DateTime64(3, 'UTC')
) ENGINE = MergeTree
PARTITION BY toYYYYMM(timestamp)
ORDER BY (tenant_id, timestamp);

CREATE TABLE IF NOT EXISTS {analytics_db}.egress_telemetry (
    tenant_id          String,
    source_region      LowCardinality(String),
    destination_region LowCardinality(String),
    bytes_transferred  UInt64,
    cost_usd           Decimal(10, 6),
    timestamp          DateTime64(3, 'UTC')
) ENGINE = MergeTree
PARTITION BY toYYYYMM(timestamp)
ORDER BY (tenant_id, timestamp);

CREATE TABLE IF NOT EXISTS {analytics_db}.cost_facts (
    id          UUID DEFAULT generateUUIDv4(),
    tenant_id   String,
    day         Date,
    category    LowCardinality(String),
    subcategory String,
    region      LowCardinality(String) DEFAULT '',
    service     LowCardinality(String) DEFAULT '',
    amount      Decimal(18, 6),
    currency    LowCardinality(String) DEFAULT 'USD',
    metadata    String DEFAULT '{}',
    created_at  DateTime,
    updated_at  DateTime
) ENGINE = ReplacingMergeTree(updated_at)
PARTITION BY toYYYYMM(day)
ORDER BY (tenant_id, day, category, subcategory, region, service);

CREATE TABLE IF NOT EXISTS {analytics_db}.finops_sync_status (
    table_name      LowCardinality(String),
    last_synced_at  DateTime,
    last_synced_day Date,
    records_synced  UInt64,
    sync_timestamp  DateTime DEFAULT now()
) ENGINE = ReplacingMergeTree(sync_timestamp)
ORDER BY (table_name);

CREATE VIEW IF NOT EXISTS {analytics_db}.cost_daily AS
SELECT tenant_id, day, category, subcategory, region, service, sum(amount) AS amount
FROM {analytics_db}.cost_facts FINAL
GROUP BY tenant_id, day, category, subcategory, region, service;

CREATE VIEW IF NOT EXISTS {analytics_db}.cost_weekly AS
SELECT tenant_id, toMonday(day) AS week, category, subcategory, region, service, sum(amount) AS amount
FROM {analytics_db}.cost_facts FINAL
GROUP BY tenant_id, week, category, subcategory, region, service;

CREATE VIEW IF NOT EXISTS {analytics_db}.cost_monthly AS
SELECT tenant_id, toStartOfMonth(day) AS month, category, subcategory, region, service, sum(amount) AS amount
FROM {analytics_db}.cost_facts FINAL
GROUP BY tenant_id, month, category, subcategory, region, service;
