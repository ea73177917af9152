-- Outcome scores and the Q2Q budget, cache and classification ledger (analytics.md §8, q2q-synthetics.md §6).
CREATE TABLE outcome_scores (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id        uuid,
    company_id     uuid,
    text_id        uuid NOT NULL,
    text_type      varchar(50),
    dimension      varchar(50) NOT NULL,
    score          numeric(4, 3) NOT NULL CHECK (score BETWEEN 0 AND 1),
    confidence     numeric(4, 3) CHECK (confidence IS NULL OR confidence BETWEEN 0 AND 1),
    model_version  varchar(50),
    method         classification_method DEFAULT 'ai_classifier',
    provider_used  varchar(50),
    language       outcome_language DEFAULT 'en',
    topics         jsonb,
    created_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT outcome_scores_natural_key UNIQUE NULLS NOT DISTINCT (text_id, text_type, dimension, model_version)
);
CREATE INDEX outcome_scores_text_idx ON outcome_scores (text_id);
CREATE INDEX outcome_scores_created_at_idx ON outcome_scores (created_at, id);
CREATE INDEX outcome_scores_dimension_idx ON outcome_scores (dimension);
CREATE INDEX outcome_scores_language_idx ON outcome_scores (language);

CREATE TABLE q2q_budgets (
    tenant_id          varchar(100) PRIMARY KEY,
    monthly_budget_usd numeric(12, 4) NOT NULL DEFAULT 1000 CHECK (monthly_budget_usd >= 0),
    daily_budget_usd   numeric(12, 4) CHECK (daily_budget_usd IS NULL OR daily_budget_usd >= 0),
    allow_override     boolean NOT NULL DEFAULT false,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE q2q_budget_usage (
    tenant_id         varchar(100) NOT NULL,
    "window"          varchar(8) NOT NULL CHECK ("window" IN ('daily', 'monthly')),
    period_start      date NOT NULL,
    spent_usd         numeric(14, 6) NOT NULL DEFAULT 0 CHECK (spent_usd >= 0),
    warned_thresholds int[] NOT NULL DEFAULT '{}',
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, "window", period_start)
);

CREATE TABLE q2q_budget_events (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id    varchar(100) NOT NULL,
    "window"     varchar(8) NOT NULL CHECK ("window" IN ('daily', 'monthly')),
    period_start date NOT NULL,
    event_type   varchar(10) NOT NULL CHECK (event_type IN ('warning', 'exceeded', 'blocked', 'override')),
    threshold    int,
    budget_usd   numeric(14, 6) NOT NULL,
    spent_usd    numeric(14, 6) NOT NULL,
    request_id   varchar(255),
    reason       text,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX q2q_budget_events_tenant_idx ON q2q_budget_events (tenant_id, created_at);

CREATE TABLE q2q_cache (
    key         varchar(255) PRIMARY KEY,
    kind        varchar(20) NOT NULL CHECK (kind IN ('prompt', 'taxonomy')),
    value       jsonb NOT NULL,
    expires_at  timestamptz NOT NULL,
    warmed_at   timestamptz NOT NULL,
    warm_run_id varchar(64)
);

CREATE TABLE q2q_classifications (
    text_id           uuid NOT NULL,
    text_type         varchar(50) NOT NULL,
    model_version     varchar(50) NOT NULL,
    tenant_id         varchar(100) NOT NULL,
    cost_usd          numeric(10, 6) NOT NULL CHECK (cost_usd >= 0),
    dimensions_scored int NOT NULL CHECK (dimensions_scored >= 0),
    text_sha256       char(64) NOT NULL,
    classified_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (text_id, text_type, model_version)
);
