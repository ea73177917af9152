-- analytics.md §6.1: replace the partition: drop every cost_facts row of the day, synchronously.
DELETE FROM {db:Identifier}.cost_facts WHERE day = {day:Date}
SETTINGS lightweight_deletes_sync = 2
