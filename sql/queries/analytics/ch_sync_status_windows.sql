-- analytics.md §4: rows written per table and window, for the analytics.synced event of the windows [start, end).
SELECT window_start, table_name, rows_written
FROM {db:Identifier}.sync_status FINAL
WHERE window_start >= {start:DateTime('UTC')} AND window_start < {end:DateTime('UTC')}
