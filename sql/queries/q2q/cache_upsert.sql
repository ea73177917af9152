INSERT INTO q2q_cache (key, kind, value, expires_at, warmed_at, warm_run_id)
VALUES (:key, :kind, CAST(:value AS jsonb), now() + make_interval(secs => :ttl_seconds), now(), :warm_run_id)
ON CONFLICT (key) DO UPDATE
SET kind = EXCLUDED.kind, value = EXCLUDED.value, expires_at = EXCLUDED.expires_at,
    warmed_at = EXCLUDED.warmed_at, warm_run_id = EXCLUDED.warm_run_id
