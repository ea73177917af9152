-- §5 texts to classify: sessions with feedback that have no taxonomy-v1 classification yet. With explicit ids
-- (a session.completed or rating.created event, a manual run) exactly those sessions, blank texts included so
-- they are reported as no_text; otherwise the backlog, leaving out texts a budget block already answered
-- (they are not retried automatically; naming the session retries it).
SELECT
    s.id::text AS text_id,
    s.participant_id::text AS user_id,
    pi.company_id::text AS company_id,
    s.feedback_text AS text
FROM kintell_sessions s
LEFT JOIN program_instances pi ON pi.id = s.program_instance_id
WHERE NOT EXISTS (
        SELECT 1 FROM q2q_classifications c
        WHERE c.text_id = s.id AND c.text_type = :text_type AND c.model_version = :model_version
    )
  AND (
        s.id = ANY(CAST(:session_ids AS uuid[]))
        OR (
            cardinality(CAST(:session_ids AS uuid[])) = 0
            AND btrim(coalesce(s.feedback_text, '')) <> ''
            AND NOT EXISTS (
                SELECT 1 FROM q2q_budget_events e
                WHERE e.event_type = 'blocked' AND e.request_id = s.id::text
            )
        )
    )
ORDER BY s.created_at, s.id
LIMIT :limit
