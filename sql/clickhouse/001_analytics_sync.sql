-- Sync targets (analytics.md §7). Every target is a ReplacingMergeTree on _version whose ORDER BY holds the row
-- identity and only columns that never change for that identity; readers use FINAL.
-- {analytics_db} is substituted with the validated CLICKHOUSE_DB identifier.
CREATE DATABASE IF NOT EXISTS {analytics_db};

CREATE TABLE IF NOT EXISTS {analytics_db}.outcome_scores_ch (
    id            UUID,
    user_id       UUID,
    company_id    UUID,
    text_id       UUID,
    text_type     String,
    dimension     LowCardinality(String),
    score         Float32,
    confidence    Float32,
    model_version LowCardinality(String),
    created_at    DateTime64(6, 'UTC'),
    _window_start DateTime('UTC'),
    _version      UInt64
) ENGINE = ReplacingMergeTree(_version)
PARTITION BY toYYYYMM(created_at)
ORDER BY (company_id, created_at, dimension, id);

CREATE TABLE IF NOT EXISTS {analytics_db}.user_events_ch (
    id              UUID,
    user_id         UUID,
    company_id      UUID,
    event_type      LowCardinality(String),
    program_type    LowCardinality(String),
    event_timestamp DateTime64(6, 'UTC'),
    metadata        String,
    _window_start   DateTime('UTC'),
    _version        UInt64
) ENGINE = ReplacingMergeTree(_version)
ORDER BY (user_id, id);

CREATE TABLE IF NOT EXISTS {analytics_db}.vis_scores_ch (
    user_id               String,
    profile_id            Nullable(UUID),
    current_vis           Decimal(10, 2),
    raw_points            UInt32,
    decay_adjusted_points Decimal(10, 2),
    percentile            Nullable(Decimal(5, 2)),
    rank                  Nullable(UInt32),
    activity_breakdown    String,
    last_activity_date    Nullable(DateTime64(6, 'UTC')),
    as_of                 DateTime64(6, 'UTC'),
    calculated_at         DateTime64(6, 'UTC'),
    _window_start         DateTime('UTC'),
    _version              UInt64
) ENGINE = ReplacingMergeTree(_version)
ORDER BY (user_id);

CREATE TABLE IF NOT EXISTS {analytics_db}.campaign_metrics_snapshots_ch (
    id                        UUID,
    campaign_id               UUID,
    snapshot_date             DateTime64(6, 'UTC'),
    volunteers_target         Int32,
    volunteers_current        Int32,
    volunteers_utilization    Decimal(8, 4),
    beneficiaries_target      Int32,
    beneficiaries_current     Int32,
    beneficiaries_utilization Decimal(8, 4),
    sessions_target           Nullable(Int32),
    sessions_current          Int32,
    sessions_utilization      Nullable(Decimal(8, 4)),
    budget_allocated          Decimal(12, 2),
    budget_spent              Decimal(12, 2),
    budget_remaining          Decimal(12, 2),
    budget_utilization        Decimal(8, 4),
    sroi_score                Nullable(Decimal(10, 2)),
    average_vis_score         Nullable(Decimal(10, 2)),
    total_hours_logged        Decimal(12, 2),
    total_sessions_completed  Int32,
    seats_used                Nullable(Int32),
    seats_committed           Nullable(Int32),
    credits_consumed          Nullable(Decimal(12, 2)),
    credits_allocated         Nullable(Decimal(12, 2)),
    learners_served           Nullable(Int32),
    learners_committed        Nullable(Int32),
    full_snapshot             String,
    created_at                DateTime64(6, 'UTC'),
    updated_at                DateTime64(6, 'UTC'),
    _window_start             DateTime('UTC'),
    _version                  UInt64
) ENGINE = ReplacingMergeTree(_version)
PARTITION BY toYYYYMM(snapshot_date)
ORDER BY (campaign_id, snapshot_date);

CREATE TABLE IF NOT EXISTS {analytics_db}.companies_ch (
    id            UUID,
    name          String,
    industry      LowCardinality(String),
    country       LowCardinality(String),
    employee_size LowCardinality(String),
    created_at    DateTime64(6, 'UTC'),
    _version      UInt64
) ENGINE = ReplacingMergeTree(_version)
ORDER BY (id);

CREATE TABLE IF NOT EXISTS {analytics_db}.sync_status (
    table_name   LowCardinality(String),
    window_start DateTime('UTC'),
    window_end   DateTime('UTC'),
    rows_read    UInt64,
    rows_written UInt64,
    run_id       String,
    synced_at    DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(synced_at)
ORDER BY (table_name, window_start);
