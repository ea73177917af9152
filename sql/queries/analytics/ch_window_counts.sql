-- analytics.md §4: rows per window after dedup (FINAL keeps each identity's newest _version).
SELECT _window_start AS window_start, count() AS rows
FROM {db:Identifier}.{table:Identifier} FINAL
WHERE _window_start >= {start:DateTime('UTC')} AND _window_start < {end:DateTime('UTC')}
GROUP BY window_start
