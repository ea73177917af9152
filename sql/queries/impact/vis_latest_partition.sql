SELECT max(partition_date) AS latest FROM vis_scores_daily
