-- A transaction-scoped staging table for one run's rollups, filled by COPY (pgio.copy_in).
CREATE TEMP TABLE campaign_rollups_stage (
    id                    uuid PRIMARY KEY,
    current_volunteers    int,
    current_beneficiaries int,
    current_sessions      int,
    total_hours_logged    numeric,
    cumulative_sroi       numeric,
    average_vis           numeric,
    capacity_utilization  numeric,
    is_near_capacity      boolean,
    is_over_capacity      boolean
) ON COMMIT DROP
