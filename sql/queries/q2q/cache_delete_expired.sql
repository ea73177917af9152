DELETE FROM q2q_cache WHERE expires_at <= now()
