-- analytics.md §2-§3: one keyset page of outcome_scores whose created_at falls in [window_start, window_end).
-- ADBC binds $1 window start, $2 window end, $3/$4 the previous page's last (change column, id), $5 page size;
-- the last two columns are that keyset.
SELECT user_id, company_id, text_id, text_type, dimension, score::float8 AS score, confidence::float8 AS confidence,
       model_version,
       created_at, id
FROM outcome_scores
WHERE created_at >= $1 AND created_at < $2
  AND (created_at, id) > ($3::timestamptz, $4::uuid)
ORDER BY created_at, id
LIMIT $5
