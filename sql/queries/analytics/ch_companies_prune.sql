-- analytics.md §5: after inserting this run's companies, drop every older version, so deletes in PG propagate.
DELETE FROM {db:Identifier}.companies_ch WHERE _version < {version:UInt64}
SETTINGS lightweight_deletes_sync = 2
