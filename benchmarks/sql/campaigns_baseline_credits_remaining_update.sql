UPDATE campaigns c
SET credits_remaining = v.remaining, updated_at = now()
FROM unnest(CAST(:ids AS uuid[]), CAST(:remaining AS int[])) AS v (id, remaining)
WHERE c.id = v.id AND c.credits_remaining IS DISTINCT FROM v.remaining
