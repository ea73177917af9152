-- analytics.md §2-§3: the outcome_scores whose created_at falls in [range_start, range_end).
-- Streamed through ADBC's binary COPY: {range_start} and {range_end} are bound as SQL literals (pgio.literal_sql), as
-- COPY takes no bind parameters.
-- In created_at order, so each ClickHouse insert block falls into one or two monthly partitions of
-- outcome_scores_ch instead of all of them: 2M rows load as ~50 parts instead of ~110-130, 6.7-7.0 s instead of
-- 8.0-8.6 s on 2 cores (measured in one process, alternating). A 15-minute window is ordered by the created_at index.
-- score and confidence are numeric(4, 3), sent as whole thousandths: PostgreSQL's numeric → float8 cast formats and
-- re-parses every value (2M rows: 4.1-4.8 s read instead of 3.7-3.8 s), and thousandths / 1000 in doubles is the
-- same nearest double (outcome_scores_rows).
SELECT user_id, company_id, text_id, text_type, dimension,
       (score * 1000)::int2 AS score_thousandths, (confidence * 1000)::int2 AS confidence_thousandths,
       model_version,
       created_at, id
FROM outcome_scores
WHERE created_at >= {range_start} AND created_at < {range_end}
ORDER BY created_at
