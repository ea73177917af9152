-- analytics.md §2-§3: one keyset page of outcome_scores whose created_at falls in [window_start, window_end).
-- The last two columns are the keyset (change column, id); COPY streams it as CSV, psycopg binds %(name)s.
SELECT user_id, company_id, text_id, text_type, dimension, score, confidence, model_version,
       created_at, id
FROM outcome_scores
WHERE created_at >= %(window_start)s AND created_at < %(window_end)s
  AND (created_at, id) > (%(after_ts)s::timestamptz, %(after_id)s::uuid)
ORDER BY created_at, id
LIMIT %(page_size)s
