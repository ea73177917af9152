-- The run's taxonomy-v1 ledger rows (:text_ids) whose outcome_scores row count differs from dimensions_scored
-- (0 when consistent). Scoped to what the run wrote, so its cost follows the run, not the ledger's size.
SELECT count(*)
FROM q2q_classifications c
LEFT JOIN LATERAL (
    SELECT count(*) AS n
    FROM outcome_scores o
    WHERE o.text_id = c.text_id AND o.text_type = c.text_type AND o.model_version = c.model_version
) o ON true
WHERE c.model_version = 'taxonomy-v1'
  AND c.text_id = ANY(CAST(:text_ids AS uuid[]))
  AND o.n <> c.dimensions_scored
