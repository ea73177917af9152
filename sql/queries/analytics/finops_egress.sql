-- analytics.md §6: egress spend per (tenant, day, source->destination route), region = the source region.
INSERT INTO {db:Identifier}.cost_facts
    (tenant_id, day, category, subcategory, region, service, amount, currency, metadata, created_at, updated_at)
SELECT
    tenant_id, toDate(timestamp) AS day, 'EGRESS', concat(source_region, '->', destination_region), source_region, '',
    sum(cost_usd), 'USD',
    toJSONString(CAST(tuple(sum(bytes_transferred)), 'Tuple(total_bytes_transferred UInt64)')),
    now(), now()
FROM {db:Identifier}.egress_telemetry
WHERE timestamp >= {start:DateTime64(3, 'UTC')} AND timestamp < {end:DateTime64(3, 'UTC')}
GROUP BY tenant_id, day, source_region, destination_region
SETTINGS output_format_json_quote_64bit_integers = 0
