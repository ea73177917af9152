SELECT EXISTS (SELECT 1 FROM campaigns WHERE id = CAST(:id AS uuid))
