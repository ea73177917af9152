-- analytics.md §6: AI spend per (tenant, day, model, region, service) from ai_token_telemetry.
INSERT INTO {db:Identifier}.cost_facts
    (tenant_id, day, category, subcategory, region, service, amount, currency, metadata, created_at, updated_at)
SELECT
    tenant_id, toDate(timestamp) AS day, 'AI', model, region, service,
    sum(cost_usd), 'USD',
    toJSONString(CAST(
        (sum(input_tokens), sum(output_tokens), count(), round(avg(latency_ms), 2)),
        'Tuple(total_input_tokens UInt64, total_output_tokens UInt64, request_count UInt64, avg_latency_ms Float64)'
    )),
    now(), now()
FROM {db:Identifier}.ai_token_telemetry
WHERE timestamp >= {start:DateTime64(3, 'UTC')} AND timestamp < {end:DateTime64(3, 'UTC')}
GROUP BY tenant_id, day, model, region, service
SETTINGS output_format_json_quote_64bit_integers = 0
