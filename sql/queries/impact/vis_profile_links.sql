-- vis.md §5 profile resolution for every user_id that can resolve: the users.id equal to it, else the profile of its
-- 'buddy' external id. Read once per range run (pgio.read_frame) and joined to each day's scores in polars, so the
-- partition INSERT needs neither joins nor an ANALYZE of its staging table to plan them.
SELECT COALESCE(u.id::text, x.external_id) AS user_id,
       COALESCE(u.id, x.profile_id)::text  AS profile_id
FROM users u
FULL JOIN (SELECT external_id, profile_id FROM user_external_ids WHERE provider = 'buddy') x
       ON x.external_id = u.id::text
