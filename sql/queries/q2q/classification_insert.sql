INSERT INTO q2q_classifications (text_id, text_type, model_version, tenant_id, cost_usd, dimensions_scored, text_sha256)
VALUES (:text_id, :text_type, :model_version, :tenant_id, :cost_usd, :dimensions_scored, :text_sha256)
ON CONFLICT DO NOTHING
