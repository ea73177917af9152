-- analytics.md §5: companies in ClickHouse after dedup.
SELECT count() FROM {db:Identifier}.companies_ch FINAL
