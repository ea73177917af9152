-- Job C (campaigns.md §7).
SELECT id::text AS id, name, company_id::text AS company_id, credit_allocation, credit_consumption_rate
FROM campaigns
WHERE is_active AND pricing_model = 'credits' AND status IN ('active', 'recruiting')
ORDER BY id
