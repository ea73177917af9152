-- analytics.md §6: cost_facts keys of the day stored more than once, read without FINAL, so a partition replace
-- that left old rows behind (or two distinct rows sharing a key) shows up.
SELECT count() FROM (
    SELECT tenant_id, category, subcategory, region, service
    FROM {db:Identifier}.cost_facts
    WHERE day = {day:Date}
    GROUP BY tenant_id, category, subcategory, region, service
    HAVING count() > 1
)
