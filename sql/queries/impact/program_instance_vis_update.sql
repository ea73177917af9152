-- Write every instance's average (NULL when none of its users has a score); untouched when unchanged.
UPDATE program_instances p
SET average_vis_score = v.average_vis_score,
    updated_at        = now()
FROM (
    SELECT i.id, a.average_vis_score
    FROM program_instances i
    LEFT JOIN unnest(CAST(:instance_ids AS uuid[]), CAST(:averages AS numeric[])) AS a (id, average_vis_score)
           ON a.id = i.id
) v
WHERE p.id = v.id
  AND p.average_vis_score IS DISTINCT FROM v.average_vis_score
