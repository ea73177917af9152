UPDATE billing_usage_records
SET quantity = :quantity, metadata = CAST(:metadata AS jsonb)
WHERE deduplication_key = :dedup_key AND NOT reported_to_stripe
