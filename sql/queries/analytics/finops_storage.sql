-- analytics.md §6: storage spend per (tenant, snapshot day, storage type, region); the RMT source is read FINAL.
INSERT INTO {db:Identifier}.cost_facts
    (tenant_id, day, category, subcategory, region, service, amount, currency, metadata, created_at, updated_at)
SELECT
    tenant_id, snapshot_date AS day, 'STORAGE', storage_type, region, '',
    sum(cost_usd), 'USD',
    toJSONString(CAST(tuple(sum(bytes_stored)), 'Tuple(total_bytes_stored UInt64)')),
    now(), now()
FROM {db:Identifier}.storage_telemetry FINAL
WHERE snapshot_date = {day:Date}
GROUP BY tenant_id, day, storage_type, region
SETTINGS output_format_json_quote_64bit_integers = 0
