-- §5 rating-created: the rating and its text land on the session (found by the Kintell id).
UPDATE kintell_sessions
SET rating = :rating, feedback_text = coalesce(:feedback_text, feedback_text)
WHERE external_session_id = :external_id
RETURNING id::text
