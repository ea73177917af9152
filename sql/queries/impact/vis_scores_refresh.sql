-- Refresh vis_scores from one vis_scores_daily partition, in one transaction (vis.md §5): upsert by user_id
-- (an existing row keeps its id and, when the partition resolves none, its profile link), then delete the users
-- absent from the partition so nobody keeps a stale rank.
INSERT INTO vis_scores (
    user_id, profile_id, current_vis, raw_points, decay_adjusted_points, percentile, rank, activity_breakdown,
    last_activity_date, calculated_at, as_of
)
SELECT user_id, profile_id, current_vis, raw_points, decay_adjusted_points, percentile, rank, activity_breakdown,
       last_activity_date, now(), as_of
FROM vis_scores_daily
WHERE partition_date = :partition_date
ON CONFLICT (user_id) DO UPDATE SET
    profile_id            = COALESCE(EXCLUDED.profile_id, vis_scores.profile_id),
    current_vis           = EXCLUDED.current_vis,
    raw_points            = EXCLUDED.raw_points,
    decay_adjusted_points = EXCLUDED.decay_adjusted_points,
    percentile            = EXCLUDED.percentile,
    rank                  = EXCLUDED.rank,
    activity_breakdown    = EXCLUDED.activity_breakdown,
    last_activity_date    = EXCLUDED.last_activity_date,
    calculated_at         = EXCLUDED.calculated_at,
    as_of                 = EXCLUDED.as_of;

DELETE FROM vis_scores v
WHERE NOT EXISTS (
    SELECT 1 FROM vis_scores_daily d WHERE d.partition_date = :partition_date AND d.user_id = v.user_id
);
