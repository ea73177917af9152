-- The notifications queue every producer writes to, its schedules, receipts and quotas (notifications.md §9).
CREATE TABLE notification_schedules (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    company_id      uuid REFERENCES companies (id) ON DELETE CASCADE,
    name            varchar(255) NOT NULL,
    cron_expression varchar(100) NOT NULL,
    timezone        varchar(64) NOT NULL DEFAULT 'UTC',
    type            varchar(20) NOT NULL DEFAULT 'email' CHECK (type IN ('email', 'sms', 'push')),
    template_id     varchar(100) NOT NULL,
    recipients      jsonb NOT NULL
                    CHECK (jsonb_typeof(recipients) = 'array' AND jsonb_array_length(recipients) > 0),
    subject         varchar(255),
    payload         jsonb NOT NULL DEFAULT '{}',
    enabled         boolean NOT NULL DEFAULT true,
    start_at        timestamptz,
    end_at          timestamptz,
    last_tick_at    timestamptz,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notification_schedules_enabled_idx ON notification_schedules (enabled);

CREATE TABLE notifications_queue (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    company_id          uuid REFERENCES companies (id) ON DELETE CASCADE,
    user_id             uuid REFERENCES users (id) ON DELETE CASCADE,
    type                varchar(50) CHECK (type IN ('email', 'sms', 'push')),
    channel             varchar(50) CHECK (channel IN ('smtp', 'resend', 'sendgrid', 'file', 'twilio', 'fcm')),
    template_id         varchar(100),
    recipient           varchar(255),
    subject             varchar(255),
    payload             jsonb NOT NULL,
    status              varchar(20) DEFAULT 'queued' CHECK (status IN ('queued', 'sending', 'sent', 'failed')),
    scheduled_at        timestamptz,
    sent_at             timestamptz,
    failure_reason      text,
    retry_count         int DEFAULT 0 CHECK (retry_count >= 0),
    created_at          timestamptz DEFAULT now(),
    updated_at          timestamptz DEFAULT now(),
    dedup_key           varchar(255) UNIQUE,
    next_attempt_at     timestamptz,
    locked_at           timestamptz,
    locked_by           varchar(64),
    provider            varchar(20),
    provider_message_id varchar(255),
    schedule_id         uuid REFERENCES notification_schedules (id) ON DELETE SET NULL,
    delivery_status     varchar(20)
);
CREATE INDEX notifications_queue_status_idx ON notifications_queue (status);
CREATE INDEX notifications_queue_scheduled_at_idx ON notifications_queue (scheduled_at);
CREATE INDEX notifications_queue_company_idx ON notifications_queue (company_id);
CREATE INDEX notifications_queue_user_idx ON notifications_queue (user_id);
CREATE INDEX notifications_queue_type_idx ON notifications_queue (type);
CREATE INDEX notifications_queue_provider_message_idx ON notifications_queue (provider_message_id);
CREATE INDEX notifications_queue_claimable_idx ON notifications_queue (created_at) WHERE status = 'queued';

CREATE TABLE notifications_delivery_receipts (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    notification_id   uuid NOT NULL REFERENCES notifications_queue (id) ON DELETE CASCADE,
    event_type        varchar(50),
    event_data        jsonb,
    received_at       timestamptz DEFAULT now(),
    provider          varchar(20) NOT NULL,
    provider_event_id varchar(255) NOT NULL,
    UNIQUE (provider, provider_event_id)
);
CREATE INDEX notifications_delivery_receipts_notification_idx ON notifications_delivery_receipts (notification_id);
CREATE INDEX notifications_delivery_receipts_event_type_idx ON notifications_delivery_receipts (event_type);

CREATE TABLE notifications_quotas (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    company_id        uuid NOT NULL UNIQUE REFERENCES companies (id) ON DELETE CASCADE,
    email_daily_limit int NOT NULL DEFAULT 1000 CHECK (email_daily_limit >= 0),
    email_daily_used  int NOT NULL DEFAULT 0 CHECK (email_daily_used >= 0),
    sms_daily_limit   int NOT NULL DEFAULT 100 CHECK (sms_daily_limit >= 0),
    sms_daily_used    int NOT NULL DEFAULT 0 CHECK (sms_daily_used >= 0),
    push_daily_limit  int NOT NULL DEFAULT 10000 CHECK (push_daily_limit >= 0),
    push_daily_used   int NOT NULL DEFAULT 0 CHECK (push_daily_used >= 0),
    quota_date        date NOT NULL DEFAULT (now() AT TIME ZONE 'UTC')::date,
    last_reset_at     timestamptz,
    created_at        timestamptz DEFAULT now(),
    updated_at        timestamptz DEFAULT now()
);
