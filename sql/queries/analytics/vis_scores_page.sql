-- analytics.md §2: vis_scores rows recalculated in the window, column for column (jsonb as JSON text).
-- ADBC binds $1 window start, $2 window end, $3/$4 the previous page's last (change column, id), $5 page size;
-- the last two columns are that keyset.
SELECT user_id, profile_id, current_vis, raw_points, decay_adjusted_points, percentile, rank,
       activity_breakdown, last_activity_date, as_of,
       calculated_at, id
FROM vis_scores
WHERE calculated_at >= $1 AND calculated_at < $2
  AND (calculated_at, id) > ($3::timestamptz, $4::uuid)
ORDER BY calculated_at, id
LIMIT $5
