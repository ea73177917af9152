-- analytics.md §2: enrollments whose enrolled_at falls in the window, with the instance's company (or NULL).
-- Streamed through ADBC's binary COPY: {range_start} and {range_end} are bound as SQL literals (pgio.literal_sql), as
-- COPY takes no bind parameters.
SELECT e.user_id, pi.company_id, e.program_type, e.status,
       e.enrolled_at, e.id
FROM program_enrollments e
LEFT JOIN program_instances pi ON pi.id = e.program_instance_id
WHERE e.enrolled_at >= {range_start} AND e.enrolled_at < {range_end}
