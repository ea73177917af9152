-- analytics.md §4: rows per 15-minute window of campaign_metrics_snapshots.updated_at in [:range_start, :range_end), for reconciliation.
SELECT date_bin('15 minutes', updated_at, timestamptz '2000-01-01 00:00:00+00') AS window_start, count(*) AS rows
FROM campaign_metrics_snapshots
WHERE updated_at >= :range_start AND updated_at < :range_end
GROUP BY 1
