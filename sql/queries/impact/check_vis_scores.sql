-- vis_scores_valid: rows that break the table's promises (one row per user, rank ≥ 1, percentile 0..100,
-- current_vis ≥ 0); 0 when the table is sound.
SELECT (count(*) - count(DISTINCT user_id))
     + count(*) FILTER (WHERE rank < 1 OR percentile NOT BETWEEN 0 AND 100 OR current_vis < 0)
FROM vis_scores
