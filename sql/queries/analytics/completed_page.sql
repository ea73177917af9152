-- analytics.md §2: completions are captured by completed_at's own window, however long after enrolment.
SELECT e.user_id, pi.company_id, e.program_type,
       e.completed_at, e.id
FROM program_enrollments e
LEFT JOIN program_instances pi ON pi.id = e.program_instance_id
WHERE e.completed_at >= %(window_start)s AND e.completed_at < %(window_end)s
  AND (e.completed_at, e.id) > (%(after_ts)s::timestamptz, %(after_id)s::uuid)
ORDER BY e.completed_at, e.id
LIMIT %(page_size)s
