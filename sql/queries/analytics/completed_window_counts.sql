-- analytics.md §4: rows per 15-minute window of program_enrollments.completed_at in [:range_start, :range_end), for reconciliation.
SELECT date_bin('15 minutes', completed_at, timestamptz '2000-01-01 00:00:00+00') AS window_start, count(*) AS rows
FROM program_enrollments
WHERE completed_at >= :range_start AND completed_at < :range_end
GROUP BY 1
