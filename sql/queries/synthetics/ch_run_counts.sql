-- Stored rows per (monitor, target) of one run (the all_targets_probed check).
SELECT monitor_type, tenant_id, count() AS n
FROM {db:Identifier}.synthetic_probes
WHERE date >= yesterday() AND tags['run_id'] = {run_id:String}
GROUP BY monitor_type, tenant_id
ORDER BY monitor_type, tenant_id
