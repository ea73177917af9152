-- analytics.md §6.4: one finops_sync_status row per aggregated day.
INSERT INTO {db:Identifier}.finops_sync_status (table_name, last_synced_at, last_synced_day, records_synced)
VALUES ('cost_facts', now(), {day:Date}, {records:UInt64})
