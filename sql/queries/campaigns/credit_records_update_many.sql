UPDATE billing_usage_records r
SET quantity = v.quantity, metadata = v.metadata
FROM unnest(CAST(:dedup_keys AS text[]), CAST(:quantities AS numeric[]), CAST(:metadata AS jsonb[]))
     AS v (dedup_key, quantity, metadata)
WHERE r.deduplication_key = v.dedup_key AND NOT r.reported_to_stripe
