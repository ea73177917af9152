-- analytics.md §4: rows per window of [start, end) after dedup: one row per sorting key, in the window of its
-- newest version (highest _version). The same answer as `count() FROM t FINAL`, computed with argMax over only the
-- rows sharing an identity with the range, so a 15-minute window does not merge the whole table.
-- k1..k4 are the table's ORDER BY columns, padded with the identity.
SELECT window_start, count() AS rows
FROM (
    SELECT argMax(_window_start, _version) AS window_start
    FROM {db:Identifier}.{table:Identifier}
    WHERE {key:Identifier} IN (
        SELECT {key:Identifier} FROM {db:Identifier}.{table:Identifier}
        WHERE _window_start >= {start:DateTime('UTC')} AND _window_start < {end:DateTime('UTC')}
    )
    GROUP BY {k1:Identifier}, {k2:Identifier}, {k3:Identifier}, {k4:Identifier}
)
WHERE window_start >= {start:DateTime('UTC')} AND window_start < {end:DateTime('UTC')}
GROUP BY window_start
