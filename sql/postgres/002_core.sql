-- Companies, users and the minimal reference tables the jobs read (campaigns.md §8, vis.md §5,
-- events-webhooks.md §10, analytics.md §8).
CREATE TABLE companies (
    id                      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name                    varchar(255) NOT NULL,
    industry                varchar(100),
    country                 varchar(100),
    features                jsonb,
    employee_count          int CHECK (employee_count IS NULL OR employee_count >= 0),
    ai_budget_monthly       numeric(12, 2),
    ai_spend_current_month  numeric(12, 2),
    created_at              timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id                              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email                           varchar(255) NOT NULL UNIQUE,
    role                            varchar(50) NOT NULL DEFAULT 'volunteer',
    first_name                      varchar(100),
    last_name                       varchar(100),
    password_hash                   varchar(255),
    journey_flags                   jsonb NOT NULL DEFAULT '{}',
    phone                           varchar(50),
    country                         varchar(100),
    city                            varchar(100),
    preferred_language              varchar(10),
    bio                             text,
    avatar_url                      varchar(500),
    skills                          jsonb DEFAULT '[]',
    linkedin_url                    varchar(500),
    timezone                        varchar(64),
    profile_completeness            numeric(4, 1) CHECK (profile_completeness BETWEEN 0 AND 100),
    profile_completeness_updated_at timestamptz,
    created_at                      timestamptz NOT NULL DEFAULT now(),
    updated_at                      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX users_lower_email_idx ON users (lower(email));

CREATE TABLE user_external_ids (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    profile_id  uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider    varchar(50) NOT NULL,
    external_id varchar(255) NOT NULL,
    UNIQUE (provider, external_id)
);
CREATE INDEX user_external_ids_profile_idx ON user_external_ids (profile_id);

CREATE TABLE program_templates (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    company_id  uuid,
    name        varchar(255) NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE beneficiary_groups (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    company_id  uuid,
    name        varchar(255) NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE l2i_subscriptions (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    company_id  uuid NOT NULL,
    sku         varchar(50),
    status      varchar(20) NOT NULL
                CHECK (status IN ('active', 'trialing', 'past_due', 'canceled', 'unpaid'))
);

CREATE TABLE billing_subscriptions (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    company_id  uuid NOT NULL,
    status      varchar(20) NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
