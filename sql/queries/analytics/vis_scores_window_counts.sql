-- analytics.md §4: rows per 15-minute window of vis_scores.calculated_at in [:range_start, :range_end), for reconciliation.
SELECT date_bin('15 minutes', calculated_at, timestamptz '2000-01-01 00:00:00+00') AS window_start, count(*) AS rows
FROM vis_scores
WHERE calculated_at >= :range_start AND calculated_at < :range_end
GROUP BY 1
