-- Job B (campaigns.md §6) in one statement: one active_seats record per active/recruiting campaign with volunteers
-- (the values after §4's aggregation), quantity = current_volunteers, dedup key campaign:<id>:seat_usage:<hour>; a
-- conflicting key is skipped. subscription_id stays NULL: an l2i id never goes into the billing_subscriptions FK.
-- utilizationPercent is the double current / target × 100 written by its shortest exact text, as JSON.stringify does.
WITH selected AS (
    SELECT id, name, company_id, pricing_model, target_volunteers, current_volunteers, l2i_subscription_id
    FROM campaigns
    WHERE is_active AND status IN ('active', 'recruiting') AND current_volunteers > 0
),
inserted AS (
    INSERT INTO billing_usage_records (company_id, subscription_id, event_type, quantity, deduplication_key,
                                       event_timestamp, metadata, campaign_id, campaign_event_type, usage_period_start)
    SELECT s.company_id, NULL, 'active_seats', s.current_volunteers,
           'campaign:' || s.id::text || ':seat_usage:' || CAST(:hour_key AS text), CAST(:period_start AS timestamptz),
           jsonb_build_object(
               'campaignId', s.id::text,
               'campaignEventType', 'seat_usage',
               'campaignName', s.name,
               'pricingModel', s.pricing_model::text,
               'targetVolunteers', coalesce(s.target_volunteers, 0),
               'utilizationPercent', CASE
                   WHEN s.target_volunteers > 0
                       THEN (s.current_volunteers::float8 / s.target_volunteers::float8 * 100)::text::numeric
               END,
               'partitionKey', CAST(:partition_key AS text),
               'runId', CAST(:run_id AS text)
           ) || CASE
               WHEN s.pricing_model = 'bundle' THEN jsonb_build_object('l2iSubscriptionId', s.l2i_subscription_id::text)
               ELSE '{}'::jsonb
           END,
           s.id, 'seat_usage', CAST(:period_start AS timestamptz)
    FROM selected s
    ON CONFLICT (deduplication_key) DO NOTHING
    RETURNING 1
)
SELECT (SELECT count(*) FROM selected) AS campaigns, (SELECT count(*) FROM inserted) AS created
