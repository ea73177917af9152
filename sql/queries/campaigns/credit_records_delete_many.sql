DELETE FROM billing_usage_records WHERE deduplication_key = ANY(CAST(:dedup_keys AS text[])) AND NOT reported_to_stripe
