-- events-webhooks.md §7 enrollment upsert: an active enrollment from the first session or match; an existing one
-- (a completed one included) is never changed. Buddy matches take the instance from buddy_matches; an instance
-- that does not exist leaves it NULL. Unknown users insert nothing (the caller rejects the event).
INSERT INTO program_enrollments (user_id, program_type, program_instance_id, status, enrolled_at)
SELECT
    CAST(:user_id AS uuid),
    :program_type,
    (
        SELECT pi.id FROM program_instances pi
        WHERE pi.id = coalesce(
            CAST(:program_instance_id AS uuid),
            (SELECT m.program_instance_id FROM buddy_matches m WHERE m.id = CAST(:match_id AS uuid))
        )
    ),
    'active',
    :enrolled_at
WHERE EXISTS (SELECT 1 FROM users WHERE id = CAST(:user_id AS uuid))
ON CONFLICT ON CONSTRAINT program_enrollments_natural_key DO NOTHING
RETURNING id::text
