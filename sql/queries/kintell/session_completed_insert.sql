INSERT INTO kintell_sessions
    (external_session_id, session_type, participant_id, volunteer_id, scheduled_at, completed_at, duration_minutes,
     language_level, topics)
VALUES
    (:external_id, :session_type, CAST(:participant_id AS uuid), CAST(:volunteer_id AS uuid), :scheduled_at,
     :completed_at, :duration_minutes, :language_level, CAST(:topics AS jsonb))
RETURNING id::text
