-- Every credit_usage record of the selected campaigns: this hour's (by key) and the sum of the others.
SELECT campaign_id::text AS campaign_id, deduplication_key, quantity, reported_to_stripe, metadata
FROM billing_usage_records
WHERE campaign_event_type = 'credit_usage'
  AND campaign_id = ANY(CAST(:campaign_ids AS uuid[]))
