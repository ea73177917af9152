-- Read after the budget rows are locked, so a concurrent run's committed classifications are seen (§5 idempotency).
SELECT text_id
FROM q2q_classifications
WHERE text_id = ANY(CAST(:text_ids AS uuid[])) AND text_type = :text_type AND model_version = :model_version
