-- analytics.md §2: vis_scores rows recalculated in the window, column for column (jsonb as JSON text).
SELECT user_id, profile_id, current_vis, raw_points, decay_adjusted_points, percentile, rank,
       activity_breakdown, last_activity_date, as_of,
       calculated_at, id
FROM vis_scores
WHERE calculated_at >= %(window_start)s AND calculated_at < %(window_end)s
  AND (calculated_at, id) > (%(after_ts)s::timestamptz, %(after_id)s::uuid)
ORDER BY calculated_at, id
LIMIT %(page_size)s
