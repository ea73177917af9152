-- analytics.md §2-§3: the outcome_scores whose created_at falls in [range_start, range_end).
-- Streamed through ADBC's binary COPY: {range_start} and {range_end} are bound as SQL literals (pgio.literal_sql), as
-- COPY takes no bind parameters.
-- In created_at order, so each ClickHouse insert block falls into one or two monthly partitions of
-- outcome_scores_ch instead of all of them: 2M rows load as ~50 parts instead of ~110-130, 6.7-7.0 s instead of
-- 8.0-8.6 s on 2 cores (measured in one process, alternating). A 15-minute window is ordered by the created_at index.
-- score and confidence are numeric(4, 3), sent as they are: ADBC writes each as its exact decimal text, which
-- outcome_scores_rows parses to the nearest double, as PostgreSQL's ::float8 does. Casting in PostgreSQL costs more:
-- ::float8 formats and re-parses every value, and (score * 1000)::int2 costs ~0.35 CPU-s of numeric arithmetic per
-- 2M rows, in the busiest process of the load (2M rows: 3.9-4.3 s instead of 4.2-4.6 s, measured back to back).
SELECT user_id, company_id, text_id, text_type, dimension, score, confidence, model_version, created_at, id
FROM outcome_scores
WHERE created_at >= {range_start} AND created_at < {range_end}
ORDER BY created_at
