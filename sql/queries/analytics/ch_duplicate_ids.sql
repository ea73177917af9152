-- analytics.md §4: identities of the windows [start, end) that appear more than once after FINAL, anywhere in
-- the table (a version that moved to another window must have replaced, not joined, the old one).
SELECT count() FROM (
    SELECT {key:Identifier} AS identity
    FROM {db:Identifier}.{table:Identifier} FINAL
    WHERE {key:Identifier} IN (
        SELECT {key:Identifier} FROM {db:Identifier}.{table:Identifier}
        WHERE _window_start >= {start:DateTime('UTC')} AND _window_start < {end:DateTime('UTC')}
    )
    GROUP BY identity
    HAVING count() > 1
)
