-- The unrounded per-user state of one vis_scores_daily partition, for the incremental path (vis.md §6).
-- Read through ADBC as Arrow (pgio.read_frame): {partition_date} is bound as a literal.
SELECT user_id,
       decay_sum,
       raw_points::bigint                              AS raw_points,
       (activity_breakdown ->> 'matches')::bigint      AS matches,
       (activity_breakdown ->> 'events')::bigint       AS events,
       (activity_breakdown ->> 'skill_shares')::bigint AS skill_shares,
       (activity_breakdown ->> 'feedback')::bigint     AS feedback,
       (activity_breakdown ->> 'milestones')::bigint   AS milestones,
       (activity_breakdown ->> 'checkins')::bigint     AS checkins,
       last_activity_date
FROM vis_scores_daily
WHERE partition_date = {partition_date}
