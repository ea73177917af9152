DELETE FROM billing_usage_records WHERE deduplication_key = :dedup_key AND NOT reported_to_stripe
