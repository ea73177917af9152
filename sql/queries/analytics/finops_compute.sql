-- analytics.md §6: compute spend per (tenant, day, instance type, region, service) from compute_telemetry.
INSERT INTO {db:Identifier}.cost_facts
    (tenant_id, day, category, subcategory, region, service, amount, currency, metadata, created_at, updated_at)
SELECT
    tenant_id, toDate(timestamp) AS day, 'COMPUTE', instance_type, region, service,
    sum(cost_usd), 'USD',
    toJSONString(CAST(
        (sum(runtime_seconds), count()),
        'Tuple(total_runtime_seconds Float64, job_count UInt64)'
    )),
    now(), now()
FROM {db:Identifier}.compute_telemetry
WHERE timestamp >= {start:DateTime64(3, 'UTC')} AND timestamp < {end:DateTime64(3, 'UTC')}
GROUP BY tenant_id, day, instance_type, region, service
SETTINGS output_format_json_quote_64bit_integers = 0
