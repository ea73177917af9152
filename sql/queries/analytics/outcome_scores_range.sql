-- analytics.md §2-§3: the outcome_scores whose created_at falls in [range_start, range_end).
-- Streamed through ADBC's binary COPY: {range_start} and {range_end} are bound as SQL literals (pgio.literal_sql), as
-- COPY takes no bind parameters.
SELECT user_id, company_id, text_id, text_type, dimension, score::float8 AS score, confidence::float8 AS confidence,
       model_version,
       created_at, id
FROM outcome_scores
WHERE created_at >= {range_start} AND created_at < {range_end}
