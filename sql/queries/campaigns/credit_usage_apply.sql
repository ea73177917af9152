-- Job C (campaigns.md §7) in one statement. For each credits-priced active/recruiting campaign (or the one named by
-- :campaign_id): the Kintell minutes completed in the hour through program_instances.campaign_id, credits =
-- half-up(minutes × rate / 60) exact in numeric (a NULL or ≤ 0 rate is 0), and the hour's storage_gb record keyed
-- campaign:<id>:credit_usage:<hour>:
--   reported to Stripe      → left alone ('blocked' when the quantity would change, else 'unchanged');
--   0 credits               → deleted if present ('delete'), else 'unchanged';
--   absent                  → inserted ('insert');
--   same quantity and metadata (runId aside) → 'unchanged'; otherwise updated ('update').
-- credits_remaining = allocation − Σ every credit_usage record (this hour's at its stored quantity when reported),
-- recomputed, never decremented. Doubles in the metadata are written by their shortest exact text (as JSON does).
-- Returns one row per campaign: its plan and remaining credits (the caller raises low-credit alerts).
WITH selected AS (
    SELECT id, name, company_id, credit_allocation, credit_consumption_rate,
           'campaign:' || id::text || ':credit_usage:' || CAST(:hour_key AS text) AS dedup_key
    FROM campaigns
    WHERE is_active AND pricing_model = 'credits' AND status IN ('active', 'recruiting')
      AND (CAST(:campaign_id AS uuid) IS NULL OR id = CAST(:campaign_id AS uuid))
),
usage AS (
    SELECT pi.campaign_id, sum(ks.duration_minutes) AS minutes, count(*) AS sessions
    FROM kintell_sessions ks
    JOIN program_instances pi ON pi.id = ks.program_instance_id
    JOIN selected s ON s.id = pi.campaign_id
    WHERE ks.completed_at >= CAST(:period_start AS timestamptz)
      AND ks.completed_at < CAST(:period_end AS timestamptz)
      AND ks.duration_minutes > 0
    GROUP BY pi.campaign_id
),
others AS (
    SELECT r.campaign_id, sum(r.quantity) AS quantity
    FROM billing_usage_records r
    JOIN selected s ON s.id = r.campaign_id
    WHERE r.campaign_event_type = 'credit_usage' AND r.deduplication_key <> s.dedup_key
    GROUP BY r.campaign_id
),
costed AS (
    SELECT s.*, coalesce(u.minutes, 0) AS minutes, coalesce(u.sessions, 0) AS sessions,
           CASE
               WHEN s.credit_consumption_rate IS NULL OR s.credit_consumption_rate <= 0 THEN 0
               ELSE round(coalesce(u.minutes, 0) * s.credit_consumption_rate / 60, 0)
           END AS credits,
           e.quantity AS existing_quantity, coalesce(e.reported_to_stripe, false) AS reported,
           e.metadata AS existing_metadata, coalesce(o.quantity, 0) AS other_quantity
    FROM selected s
    LEFT JOIN usage u ON u.campaign_id = s.id
    LEFT JOIN others o ON o.campaign_id = s.id
    LEFT JOIN billing_usage_records e ON e.deduplication_key = s.dedup_key
),
remaining AS (
    SELECT c.*,
           (c.credit_allocation
               - trunc(c.other_quantity + CASE WHEN c.reported THEN c.existing_quantity ELSE c.credits END))::int
               AS credits_remaining
    FROM costed c
),
planned AS (
    SELECT r.*,
           jsonb_build_object(
               'campaignId', r.id::text,
               'campaignEventType', 'credit_usage',
               'campaignName', r.name,
               'source', 'kintell_session_minutes',
               'minutes', r.minutes,
               'sessionCount', r.sessions,
               'creditConsumptionRate', r.credit_consumption_rate::text,
               'creditsAllocated', r.credit_allocation,
               'creditsRemaining', r.credits_remaining,
               'utilizationPercent', CASE
                   WHEN coalesce(r.credit_allocation, 0) > 0
                       THEN ((r.credit_allocation - r.credits_remaining)::float8 / r.credit_allocation::float8
                             * 100)::text::numeric
                   ELSE 0
               END,
               'partitionKey', CAST(:partition_key AS text),
               'runId', CAST(:run_id AS text)
           ) AS metadata
    FROM remaining r
),
decided AS (
    SELECT p.*,
           CASE
               WHEN p.reported THEN CASE WHEN p.existing_quantity <> p.credits THEN 'blocked' ELSE 'unchanged' END
               WHEN p.credits = 0 THEN CASE WHEN p.existing_quantity IS NOT NULL THEN 'delete' ELSE 'unchanged' END
               WHEN p.existing_quantity IS NULL THEN 'insert'
               WHEN p.existing_quantity = p.credits
                    AND (p.existing_metadata - 'runId') = (p.metadata - 'runId') THEN 'unchanged'
               ELSE 'update'
           END AS action
    FROM planned p
),
inserted AS (
    INSERT INTO billing_usage_records (company_id, subscription_id, event_type, quantity, deduplication_key,
                                       event_timestamp, metadata, campaign_id, campaign_event_type, usage_period_start)
    SELECT d.company_id, NULL, 'storage_gb', d.credits, d.dedup_key, CAST(:period_start AS timestamptz), d.metadata,
           d.id, 'credit_usage', CAST(:period_start AS timestamptz)
    FROM decided d
    WHERE d.action = 'insert'
    ON CONFLICT (deduplication_key) DO NOTHING
    RETURNING deduplication_key
),
updated AS (
    UPDATE billing_usage_records r
    SET quantity = d.credits, metadata = d.metadata
    FROM decided d
    WHERE d.action = 'update' AND r.deduplication_key = d.dedup_key AND NOT r.reported_to_stripe
    RETURNING r.deduplication_key
),
deleted AS (
    DELETE FROM billing_usage_records r
    USING decided d
    WHERE d.action = 'delete' AND r.deduplication_key = d.dedup_key AND NOT r.reported_to_stripe
    RETURNING r.deduplication_key
),
recomputed AS (
    UPDATE campaigns c
    SET credits_remaining = d.credits_remaining, updated_at = now()
    FROM decided d
    WHERE c.id = d.id AND c.credits_remaining IS DISTINCT FROM d.credits_remaining
    RETURNING c.id
)
SELECT d.id::text AS id, d.name, d.company_id::text AS company_id, d.credit_allocation, d.credits_remaining,
       d.action, d.dedup_key IN (SELECT deduplication_key FROM inserted) AS created,
       (SELECT count(*) FROM updated) AS updated_total, (SELECT count(*) FROM deleted) AS deleted_total,
       (SELECT count(*) FROM recomputed) AS recomputed_total
FROM decided d
ORDER BY d.id
