-- Usage records in one statement; a conflicting dedup key is skipped and left out of RETURNING.
-- subscription_id stays NULL: an l2i id never goes into the billing_subscriptions FK (campaigns.md §6).
INSERT INTO billing_usage_records (company_id, subscription_id, event_type, quantity, deduplication_key,
                                   event_timestamp, metadata, campaign_id, campaign_event_type, usage_period_start)
SELECT r.company_id, NULL, r.event_type, r.quantity, r.dedup_key, r.period_start, r.metadata, r.campaign_id,
       r.campaign_event_type, r.period_start
FROM unnest(
    CAST(:company_ids AS uuid[]), CAST(:event_types AS usage_event_type[]), CAST(:quantities AS numeric[]),
    CAST(:dedup_keys AS text[]), CAST(:period_starts AS timestamptz[]), CAST(:metadata AS jsonb[]),
    CAST(:campaign_ids AS uuid[]), CAST(:campaign_event_types AS text[])
) AS r (company_id, event_type, quantity, dedup_key, period_start, metadata, campaign_id, campaign_event_type)
ON CONFLICT (deduplication_key) DO NOTHING
RETURNING deduplication_key
