-- analytics.md §6: export spend per (tenant, day, export type) from export_telemetry.
INSERT INTO {db:Identifier}.cost_facts
    (tenant_id, day, category, subcategory, region, service, amount, currency, metadata, created_at, updated_at)
SELECT
    tenant_id, toDate(timestamp) AS day, 'EXPORT', export_type, '', '',
    sum(cost_usd), 'USD',
    toJSONString(CAST((count(), sum(file_size_bytes)), 'Tuple(export_count UInt64, total_bytes UInt64)')),
    now(), now()
FROM {db:Identifier}.export_telemetry
WHERE timestamp >= {start:DateTime64(3, 'UTC')} AND timestamp < {end:DateTime64(3, 'UTC')}
GROUP BY tenant_id, day, export_type
SETTINGS output_format_json_quote_64bit_integers = 0
