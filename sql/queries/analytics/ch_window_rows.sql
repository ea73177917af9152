-- analytics.md §3: how many rows a sync target holds for the windows in [start, end) (before replacing them).
SELECT count() FROM {db:Identifier}.{table:Identifier}
WHERE _window_start >= {start:DateTime('UTC')} AND _window_start < {end:DateTime('UTC')}
