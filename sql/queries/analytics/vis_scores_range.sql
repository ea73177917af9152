-- analytics.md §2: vis_scores rows recalculated in the window, column for column (jsonb as JSON text).
-- Streamed through ADBC's binary COPY: {range_start} and {range_end} are bound as SQL literals (pgio.literal_sql), as
-- COPY takes no bind parameters.
SELECT user_id, profile_id, current_vis, raw_points, decay_adjusted_points, percentile, rank,
       activity_breakdown, last_activity_date, as_of,
       calculated_at, id
FROM vis_scores
WHERE calculated_at >= {range_start} AND calculated_at < {range_end}
