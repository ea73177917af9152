-- §5 outcome_scores row; the natural key makes a repeated insert a no-op.
INSERT INTO outcome_scores
    (user_id, company_id, text_id, text_type, dimension, score, confidence, model_version, method, provider_used,
     language, topics)
VALUES
    (:user_id, :company_id, :text_id, :text_type, :dimension, :score, :confidence, :model_version, 'rule_based',
     'taxonomy', 'unknown', CAST(:topics AS jsonb))
ON CONFLICT ON CONSTRAINT outcome_scores_natural_key DO NOTHING
