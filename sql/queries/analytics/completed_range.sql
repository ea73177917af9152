-- analytics.md §2: completions are captured by completed_at's own window, however long after enrolment.
-- Streamed through ADBC's binary COPY: {range_start} and {range_end} are bound as SQL literals (pgio.literal_sql), as
-- COPY takes no bind parameters.
SELECT e.user_id, pi.company_id, e.program_type,
       e.completed_at, e.id
FROM program_enrollments e
LEFT JOIN program_instances pi ON pi.id = e.program_instance_id
WHERE e.completed_at >= {range_start} AND e.completed_at < {range_end}
