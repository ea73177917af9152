-- §5 session-scheduled: one row per Kintell booking id.
INSERT INTO kintell_sessions (external_session_id, session_type, participant_id, volunteer_id, scheduled_at)
VALUES (:external_id, :session_type, CAST(:participant_id AS uuid), CAST(:volunteer_id AS uuid), :scheduled_at)
ON CONFLICT (external_session_id) DO UPDATE
SET session_type = EXCLUDED.session_type, participant_id = EXCLUDED.participant_id,
    volunteer_id = EXCLUDED.volunteer_id, scheduled_at = EXCLUDED.scheduled_at
RETURNING id::text
