-- analytics.md §4: rows per 15-minute window of outcome_scores.created_at in [:range_start, :range_end), for reconciliation.
SELECT date_bin('15 minutes', created_at, timestamptz '2000-01-01 00:00:00+00') AS window_start, count(*) AS rows
FROM outcome_scores
WHERE created_at >= :range_start AND created_at < :range_end
GROUP BY 1
