-- The session as the domain events describe it, with its program context (§5 "Domain events").
SELECT s.id::text AS session_id, s.external_session_id, s.session_type, s.participant_id::text,
       s.volunteer_id::text, s.scheduled_at, s.completed_at, s.duration_minutes, s.topics, s.language_level,
       s.program_instance_id::text AS program_id, pi.campaign_id::text, pi.beneficiary_group_id::text
FROM kintell_sessions s
LEFT JOIN program_instances pi ON pi.id = s.program_instance_id
WHERE s.id = CAST(:session_id AS uuid)
