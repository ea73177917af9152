-- How a stored partition was computed: its decay parameters and when (vis.md §6 "auto").
SELECT lambda, decay_enabled, max(calculated_at) AS calculated_at, count(*) AS users
FROM vis_scores_daily
WHERE partition_date = :partition_date
GROUP BY lambda, decay_enabled
