-- Unexpired cache rows among the given keys (§4 readers).
SELECT key, value
FROM q2q_cache
WHERE key = ANY(CAST(:keys AS text[])) AND expires_at > now()
