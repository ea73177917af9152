SELECT id::text FROM users WHERE id = ANY(CAST(:user_ids AS uuid[]))
