-- cache_warm: warm-up keys (five prompts, five taxonomy entries) missing or expired right after the warm-up.
SELECT 10 - count(*)
FROM q2q_cache
WHERE expires_at > now()
  AND (key LIKE 'prompt:common:%' OR key LIKE 'taxonomy:%')
