-- Does the backlog of evidence_texts.sql hold anything? (the q2q_evidence_sensor's question)
SELECT EXISTS (
    SELECT 1
    FROM kintell_sessions s
    WHERE btrim(coalesce(s.feedback_text, '')) <> ''
      AND NOT EXISTS (
            SELECT 1 FROM q2q_classifications c
            WHERE c.text_id = s.id AND c.text_type = 'kintell_feedback' AND c.model_version = 'taxonomy-v1'
        )
      AND NOT EXISTS (
            SELECT 1 FROM q2q_budget_events e WHERE e.event_type = 'blocked' AND e.request_id = s.id::text
        )
)
