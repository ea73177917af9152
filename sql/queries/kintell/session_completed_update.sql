-- §5 session-completed: the row with this external id, else the scheduled row of the same pair and time that has
-- no completion yet (it takes the external id), so one session always has one row.
WITH target AS (
    SELECT id FROM kintell_sessions WHERE external_session_id = :external_id
    UNION ALL
    SELECT id FROM (
        SELECT id FROM kintell_sessions
        WHERE NOT EXISTS (SELECT 1 FROM kintell_sessions WHERE external_session_id = :external_id)
          AND participant_id = CAST(:participant_id AS uuid) AND volunteer_id = CAST(:volunteer_id AS uuid)
          AND scheduled_at = :scheduled_at AND completed_at IS NULL
        ORDER BY created_at, id
        LIMIT 1
    ) scheduled
    LIMIT 1
)
UPDATE kintell_sessions s
SET external_session_id = :external_id, session_type = :session_type,
    participant_id = CAST(:participant_id AS uuid), volunteer_id = CAST(:volunteer_id AS uuid),
    scheduled_at = :scheduled_at, completed_at = :completed_at, duration_minutes = :duration_minutes,
    language_level = :language_level, topics = CAST(:topics AS jsonb)
FROM target
WHERE s.id = target.id
RETURNING s.id::text
