-- Staging for one partition's scores; dropped at commit.
CREATE TEMP TABLE vis_stage (
    user_id               varchar(100) NOT NULL,
    profile_id            uuid,
    current_vis           numeric(10, 2) NOT NULL,
    raw_points            int NOT NULL,
    decay_adjusted_points numeric(10, 2) NOT NULL,
    decay_sum             double precision NOT NULL,
    matches               int NOT NULL,
    events                int NOT NULL,
    skill_shares          int NOT NULL,
    feedback              int NOT NULL,
    milestones            int NOT NULL,
    checkins              int NOT NULL,
    last_activity_us      bigint NOT NULL,
    rank                  int NOT NULL,
    percentile            numeric(5, 2) NOT NULL
) ON COMMIT DROP
