-- Enrollments, Kintell sessions, Buddy matches and events (analytics.md §8, events-webhooks.md §10, vis.md §9).
CREATE TABLE program_enrollments (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id             uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    program_type        varchar(50) NOT NULL
                        CHECK (program_type IN ('buddy', 'language', 'mentorship', 'upskilling')),
    program_instance_id uuid REFERENCES program_instances (id) ON DELETE SET NULL,
    enrolled_at         timestamptz NOT NULL DEFAULT now(),
    status              varchar(50) NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'completed', 'dropped')),
    completed_at        timestamptz,
    CONSTRAINT program_enrollments_natural_key UNIQUE NULLS NOT DISTINCT (user_id, program_type, program_instance_id)
);
CREATE INDEX program_enrollments_enrolled_at_idx ON program_enrollments (enrolled_at, id);
CREATE INDEX program_enrollments_completed_at_idx ON program_enrollments (completed_at, id);
CREATE INDEX program_enrollments_instance_idx ON program_enrollments (program_instance_id);

CREATE TABLE kintell_sessions (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    external_session_id varchar(255) UNIQUE,
    session_type        varchar(50) NOT NULL,
    participant_id      uuid NOT NULL REFERENCES users (id),
    volunteer_id        uuid NOT NULL REFERENCES users (id),
    scheduled_at        timestamptz,
    completed_at        timestamptz,
    duration_minutes    int CHECK (duration_minutes IS NULL OR duration_minutes >= 0),
    rating              numeric(3, 2) CHECK (rating IS NULL OR rating BETWEEN 0 AND 1),
    feedback_text       text,
    language_level      varchar(10),
    topics              jsonb,
    metadata            jsonb,
    program_instance_id uuid REFERENCES program_instances (id) ON DELETE SET NULL,
    created_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX kintell_sessions_instance_completed_idx ON kintell_sessions (program_instance_id, completed_at);
CREATE INDEX kintell_sessions_completed_idx ON kintell_sessions (completed_at);

CREATE TABLE buddy_matches (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    participant_id      uuid,
    buddy_id            uuid,
    matched_at          timestamptz,
    status              varchar(50),
    ended_at            timestamptz,
    program_instance_id uuid
);

CREATE TABLE buddy_system_events (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    event_id        uuid NOT NULL UNIQUE,
    event_type      varchar(100) NOT NULL,
    user_id         varchar(100),
    "timestamp"     timestamptz NOT NULL,
    payload         jsonb NOT NULL,
    correlation_id  uuid,
    processed_at    timestamptz,
    derived_metrics jsonb DEFAULT '[]',
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX buddy_system_events_user_ts_idx ON buddy_system_events (user_id, "timestamp");
CREATE INDEX buddy_system_events_created_at_idx ON buddy_system_events (created_at);
CREATE INDEX buddy_system_events_ts_idx ON buddy_system_events ("timestamp");
