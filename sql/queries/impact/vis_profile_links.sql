-- vis.md §5 profile resolution, read once per partition write and joined to the scores in polars (cheaper than the
-- two hash joins with a uuid → text cast per users row, and no ANALYZE of the staging table to plan them):
-- `own` is the users.id equal to the user_id, `buddy` the profile of its 'buddy' external id.
SELECT id::text AS user_id, 'own' AS link, id::text AS profile_id
FROM users
UNION ALL
SELECT external_id, 'buddy', profile_id::text
FROM user_external_ids
WHERE provider = 'buddy'
