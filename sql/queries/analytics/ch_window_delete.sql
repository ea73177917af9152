-- analytics.md §3: replace the windows in [start, end): a synchronous lightweight delete before the inserts.
DELETE FROM {db:Identifier}.{table:Identifier}
WHERE _window_start >= {start:DateTime('UTC')} AND _window_start < {end:DateTime('UTC')}
SETTINGS lightweight_deletes_sync = 2
