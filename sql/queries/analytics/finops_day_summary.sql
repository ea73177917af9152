-- analytics.md §6.3: rows actually inserted for the day, per category, at the insert's grain, and their total.
SELECT category, count() AS records_aggregated, sum(amount) AS amount_total
FROM {db:Identifier}.cost_facts FINAL
WHERE day = {day:Date}
GROUP BY category
ORDER BY category
