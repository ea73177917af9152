-- analytics.md §2: completions are captured by completed_at's own window, however long after enrolment.
-- ADBC binds $1 window start, $2 window end, $3/$4 the previous page's last (change column, id), $5 page size;
-- the last two columns are that keyset.
SELECT e.user_id, pi.company_id, e.program_type,
       e.completed_at, e.id
FROM program_enrollments e
LEFT JOIN program_instances pi ON pi.id = e.program_instance_id
WHERE e.completed_at >= $1 AND e.completed_at < $2
  AND (e.completed_at, e.id) > ($3::timestamptz, $4::uuid)
ORDER BY e.completed_at, e.id
LIMIT $5
