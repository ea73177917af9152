-- events-webhooks.md §5: the newest impact_deliveries row of the platform whose payload names the transaction
-- (transactionId, transaction_id or id; every row is searched), moved to the callback's status.
UPDATE impact_deliveries d
SET status = CAST(:status AS impact_delivery_status),
    error_msg = :error_msg,
    delivered_at = CASE WHEN :status = 'delivered' THEN now() END,
    updated_at = now()
WHERE d.id = (
    SELECT id FROM impact_deliveries
    WHERE platform = CAST(:platform AS impact_platform)
      AND (payload_sample ->> 'transactionId' = :transaction_id
           OR payload_sample ->> 'transaction_id' = :transaction_id
           OR payload_sample ->> 'id' = :transaction_id)
    ORDER BY created_at DESC
    LIMIT 1
)
RETURNING d.id::text
