-- analytics.md §2: enrollments whose enrolled_at falls in the window, with the instance's company (or NULL).
SELECT e.user_id, pi.company_id, e.program_type, e.status,
       e.enrolled_at, e.id
FROM program_enrollments e
LEFT JOIN program_instances pi ON pi.id = e.program_instance_id
WHERE e.enrolled_at >= %(window_start)s AND e.enrolled_at < %(window_end)s
  AND (e.enrolled_at, e.id) > (%(after_ts)s::timestamptz, %(after_id)s::uuid)
ORDER BY e.enrolled_at, e.id
LIMIT %(page_size)s
