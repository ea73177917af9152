-- Replace one vis_scores_daily partition from vis_stage (profile_id joined by vis_store.write_day from read_profile_links).
DELETE FROM vis_scores_daily WHERE partition_date = :partition_date;

INSERT INTO vis_scores_daily (
    partition_date, user_id, as_of, profile_id, current_vis, raw_points, decay_adjusted_points, decay_sum,
    percentile, rank, activity_breakdown, last_activity_date, lambda, decay_enabled, method, calculated_at
)
SELECT :partition_date,
       s.user_id,
       :as_of,
       s.profile_id,
       s.current_vis,
       s.raw_points,
       s.decay_adjusted_points,
       s.decay_sum,
       s.percentile,
       s.rank,
       jsonb_build_object('matches', s.matches, 'events', s.events, 'skill_shares', s.skill_shares,
                          'feedback', s.feedback, 'milestones', s.milestones, 'checkins', s.checkins),
       to_timestamp(s.last_activity_us / 1000000.0),
       :lambda,
       :decay_enabled,
       :method,
       now()
FROM vis_stage s;
