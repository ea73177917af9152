-- Job B (campaigns.md §6): the values after §4's aggregation.
SELECT id::text AS id, name, company_id::text AS company_id, pricing_model::text AS pricing_model,
       target_volunteers, current_volunteers, l2i_subscription_id::text AS l2i_subscription_id
FROM campaigns
WHERE is_active AND status IN ('active', 'recruiting') AND current_volunteers > 0
ORDER BY id
