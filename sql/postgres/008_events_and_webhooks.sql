-- Durable ingestion: the webhook inbox, the domain-event outbox and partner deliveries (events-webhooks.md §10).
CREATE TABLE webhook_inbox (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    source        varchar(32) NOT NULL,
    endpoint      varchar(200) NOT NULL,
    event_type    varchar(100),
    delivery_id   varchar(255) NOT NULL,
    headers       jsonb NOT NULL,
    raw_body      bytea NOT NULL,
    body_sha256   char(64) NOT NULL,
    content_type  varchar(100),
    received_at   timestamptz NOT NULL DEFAULT now(),
    status        varchar(20) NOT NULL DEFAULT 'received'
                  CHECK (status IN ('received', 'published', 'processed', 'rejected', 'unmatched', 'failed', 'dead')),
    nats_subject  varchar(200),
    nats_seq      bigint,
    published_at  timestamptz,
    processed_at  timestamptz,
    attempts      int NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error    text,
    replay_count  int NOT NULL DEFAULT 0 CHECK (replay_count >= 0),
    UNIQUE (source, delivery_id)
);
CREATE INDEX webhook_inbox_status_idx ON webhook_inbox (status, received_at);

CREATE TABLE event_outbox (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    subject      varchar(200) NOT NULL,
    msg_id       varchar(255) NOT NULL UNIQUE,
    payload      jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz,
    nats_seq     bigint,
    attempts     int NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error   text
);
CREATE INDEX event_outbox_unpublished_idx ON event_outbox (created_at) WHERE published_at IS NULL;

CREATE TABLE impact_deliveries (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    company_id     uuid,
    platform       impact_platform,
    payload_hash   varchar(128),
    payload_sample jsonb,
    status         impact_delivery_status DEFAULT 'pending',
    retries        int DEFAULT 0,
    error_msg      text,
    delivered_at   timestamptz,
    created_at     timestamptz DEFAULT now(),
    schedule_id    uuid,
    updated_at     timestamptz
);
CREATE INDEX impact_deliveries_platform_created_idx ON impact_deliveries (platform, created_at DESC);
