SELECT EXISTS (SELECT 1 FROM users WHERE id = CAST(:user_id AS uuid))
