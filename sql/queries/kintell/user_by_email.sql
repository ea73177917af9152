SELECT id::text FROM users WHERE lower(email) = lower(:email)
