-- One VIS per (program instance, enrolled user) (vis.md §5): the vis_scores row keyed by the user's id when there
-- is one, else a row linked through profile_id (an external id), lowest user_id first for determinism.
-- Two equi-joins instead of one OR-join, so both can hash-join.
SELECT DISTINCT ON (program_instance_id, enrolled_user)
       program_instance_id::text AS program_instance_id,
       current_vis::float8       AS current_vis
FROM (
    SELECT e.program_instance_id, e.user_id AS enrolled_user, v.current_vis, 0 AS preference, v.user_id AS vis_user
    FROM program_enrollments e
    JOIN vis_scores v ON v.user_id = e.user_id::text
    WHERE e.program_instance_id IS NOT NULL
    UNION ALL
    SELECT e.program_instance_id, e.user_id, v.current_vis, 1, v.user_id
    FROM program_enrollments e
    JOIN vis_scores v ON v.profile_id = e.user_id
    WHERE e.program_instance_id IS NOT NULL
) candidates
ORDER BY program_instance_id, enrolled_user, preference, vis_user
