-- The distribution the profiles/completeness materialization reports.
SELECT coalesce(profile_completeness, -1) AS completeness, count(*) AS users
FROM users
GROUP BY 1
ORDER BY 1
