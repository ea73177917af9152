-- The unrounded per-user state of one vis_scores_daily partition, for the incremental path (vis.md §6).
SELECT user_id,
       decay_sum,
       raw_points,
       (activity_breakdown ->> 'matches')::bigint      AS matches,
       (activity_breakdown ->> 'events')::bigint       AS events,
       (activity_breakdown ->> 'skill_shares')::bigint AS skill_shares,
       (activity_breakdown ->> 'feedback')::bigint     AS feedback,
       (activity_breakdown ->> 'milestones')::bigint   AS milestones,
       (activity_breakdown ->> 'checkins')::bigint     AS checkins,
       (extract(epoch FROM last_activity_date) * 1000000)::bigint AS last_activity_us
FROM vis_scores_daily
WHERE partition_date = %(partition_date)s
