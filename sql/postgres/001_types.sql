-- Enumerated types shared by the source and pipeline-owned tables (spec: campaigns.md §8, analytics.md §8,
-- events-webhooks.md §10).
CREATE TYPE campaign_status AS ENUM ('draft', 'planned', 'recruiting', 'active', 'paused', 'completed', 'closed');
CREATE TYPE campaign_priority AS ENUM ('low', 'medium', 'high', 'critical');
CREATE TYPE pricing_model AS ENUM ('seats', 'credits', 'bundle', 'iaas', 'custom');
CREATE TYPE program_instance_status AS ENUM ('planned', 'active', 'paused', 'completed');
CREATE TYPE usage_event_type AS ENUM (
    'q2q_tokens', 'reports_generated', 'active_seats', 'nlq_queries',
    'ai_tokens_input', 'ai_tokens_output', 'storage_gb', 'compute_hours'
);
CREATE TYPE classification_method AS ENUM ('ai_classifier', 'rule_based', 'manual');
CREATE TYPE outcome_language AS ENUM ('en', 'uk', 'no', 'unknown');
CREATE TYPE impact_platform AS ENUM ('benevity', 'goodera', 'workday');
CREATE TYPE impact_delivery_status AS ENUM ('pending', 'delivered', 'failed', 'retrying');

-- Keeps updated_at honest on tables the platform also writes (campaigns.md §8).
CREATE FUNCTION set_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;
