-- Volunteer Impact Score: latest copy and daily history (vis.md §9).
CREATE TABLE vis_scores (
    id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id               varchar(100) NOT NULL UNIQUE,
    profile_id            uuid REFERENCES users (id) ON DELETE SET NULL,
    current_vis           numeric(10, 2) NOT NULL DEFAULT 0 CHECK (current_vis >= 0),
    raw_points            int NOT NULL DEFAULT 0 CHECK (raw_points >= 0),
    decay_adjusted_points numeric(10, 2) NOT NULL DEFAULT 0,
    percentile            numeric(5, 2) CHECK (percentile IS NULL OR percentile BETWEEN 0 AND 100),
    rank                  int CHECK (rank IS NULL OR rank > 0),
    activity_breakdown    jsonb NOT NULL DEFAULT
        '{"matches": 0, "events": 0, "skill_shares": 0, "feedback": 0, "milestones": 0, "checkins": 0}',
    last_activity_date    timestamptz,
    calculated_at         timestamptz NOT NULL DEFAULT now(),
    as_of                 timestamptz NOT NULL
);
CREATE INDEX vis_scores_current_vis_idx ON vis_scores (current_vis DESC);
CREATE INDEX vis_scores_profile_idx ON vis_scores (profile_id);
CREATE INDEX vis_scores_percentile_idx ON vis_scores (percentile DESC);
CREATE INDEX vis_scores_last_activity_idx ON vis_scores (last_activity_date DESC);
CREATE INDEX vis_scores_calculated_at_idx ON vis_scores (calculated_at, id);

CREATE TABLE vis_scores_daily (
    partition_date        date NOT NULL,
    user_id               varchar(100) NOT NULL,
    as_of                 timestamptz NOT NULL,
    profile_id            uuid,
    current_vis           numeric(10, 2) NOT NULL CHECK (current_vis >= 0),
    raw_points            int NOT NULL CHECK (raw_points >= 0),
    decay_adjusted_points numeric(10, 2) NOT NULL,
    decay_sum             double precision NOT NULL,
    percentile            numeric(5, 2) NOT NULL CHECK (percentile BETWEEN 0 AND 100),
    rank                  int NOT NULL CHECK (rank > 0),
    activity_breakdown    jsonb NOT NULL,
    last_activity_date    timestamptz NOT NULL,
    lambda                double precision NOT NULL CHECK (lambda >= 0),
    decay_enabled         boolean NOT NULL,
    method                varchar(12) NOT NULL CHECK (method IN ('full', 'incremental')),
    calculated_at         timestamptz NOT NULL,
    PRIMARY KEY (partition_date, user_id)
);
CREATE INDEX vis_scores_daily_rank_idx ON vis_scores_daily (partition_date, rank);
