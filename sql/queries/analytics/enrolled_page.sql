-- analytics.md §2: enrollments whose enrolled_at falls in the window, with the instance's company (or NULL).
-- ADBC binds $1 window start, $2 window end, $3/$4 the previous page's last (change column, id), $5 page size;
-- the last two columns are that keyset.
SELECT e.user_id, pi.company_id, e.program_type, e.status,
       e.enrolled_at, e.id
FROM program_enrollments e
LEFT JOIN program_instances pi ON pi.id = e.program_instance_id
WHERE e.enrolled_at >= $1 AND e.enrolled_at < $2
  AND (e.enrolled_at, e.id) > ($3::timestamptz, $4::uuid)
ORDER BY e.enrolled_at, e.id
LIMIT $5
