-- events-webhooks.md §8: users.profile_completeness = round(100 × filled / 12, 1), numeric (exact, half-up for
-- positives), written only when it changed; users.updated_at is never touched. :user_ids NULL means everyone.
WITH scored AS (
    SELECT
        u.id,
        round(100 * (
            (u.first_name IS NOT NULL AND btrim(u.first_name) <> '')::int
          + (u.last_name IS NOT NULL AND btrim(u.last_name) <> '')::int
          + (u.email IS NOT NULL AND btrim(u.email) <> '')::int
          + (u.phone IS NOT NULL AND btrim(u.phone) <> '')::int
          + (u.country IS NOT NULL AND btrim(u.country) <> '')::int
          + (u.city IS NOT NULL AND btrim(u.city) <> '')::int
          + (u.preferred_language IS NOT NULL AND btrim(u.preferred_language) <> '')::int
          + (u.bio IS NOT NULL AND btrim(u.bio) <> '')::int
          + (u.avatar_url IS NOT NULL AND btrim(u.avatar_url) <> '')::int
          + (CASE WHEN jsonb_typeof(u.skills) = 'array' THEN EXISTS (
                SELECT 1 FROM jsonb_array_elements(u.skills) AS skill(value)
                WHERE jsonb_typeof(skill.value) = 'string' AND btrim(skill.value #>> '{}') <> ''
            ) ELSE false END)::int
          + (u.linkedin_url IS NOT NULL AND btrim(u.linkedin_url) <> '')::int
          + (u.timezone IS NOT NULL AND btrim(u.timezone) <> '')::int
        )::numeric / 12, 1) AS completeness
    FROM users u
    WHERE CAST(:user_ids AS uuid[]) IS NULL OR u.id = ANY(CAST(:user_ids AS uuid[]))
)
UPDATE users u
SET profile_completeness = scored.completeness, profile_completeness_updated_at = now()
FROM scored
WHERE u.id = scored.id AND u.profile_completeness IS DISTINCT FROM scored.completeness
RETURNING u.id::text, u.profile_completeness
