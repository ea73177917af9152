-- analytics.md §4: identities of the range [start, end) stored under more than one sorting key: rows that FINAL
-- cannot collapse, i.e. duplicates after dedup (anywhere in the table, not only inside the range).
SELECT count() FROM (
    SELECT {key:Identifier}
    FROM {db:Identifier}.{table:Identifier}
    WHERE {key:Identifier} IN (
        SELECT {key:Identifier} FROM {db:Identifier}.{table:Identifier}
        WHERE _window_start >= {start:DateTime('UTC')} AND _window_start < {end:DateTime('UTC')}
    )
    GROUP BY {key:Identifier}
    HAVING uniqExact(({k1:Identifier}, {k2:Identifier}, {k3:Identifier}, {k4:Identifier})) > 1
)
