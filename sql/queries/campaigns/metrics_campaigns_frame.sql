-- Campaigns whose metrics are refreshed (campaigns.md §4), with every column the rollup and snapshots read, as one
-- Arrow frame (pgio.read_frame). With {campaign_id} set, that one campaign in any status (forced snapshots, §5).
-- numeric columns travel as their exact text, which polars parses: ADBC's binary numeric decoding was the
-- slowest part of this read (instances at 75,000 rows: 0.32 s with binary numerics, 0.20 s as text).
SELECT id::text AS id, name, company_id::text AS company_id, program_template_id::text AS program_template_id,
       beneficiary_group_id::text AS beneficiary_group_id, status::text AS status, target_volunteers,
       target_beneficiaries, max_sessions, budget_allocated::text AS budget_allocated,
       budget_spent::text AS budget_spent, committed_seats, credit_allocation, iaas_metrics::text AS iaas_metrics,
       total_sessions_completed, capacity_utilization::text AS capacity_utilization, current_volunteers,
       current_beneficiaries, current_sessions, total_hours_logged::text AS total_hours_logged,
       cumulative_sroi::text AS cumulative_sroi, average_vis::text AS average_vis
FROM campaigns
WHERE CASE
          WHEN CAST({campaign_id} AS uuid) IS NULL THEN is_active AND status IN ('active', 'recruiting', 'paused')
          ELSE id = CAST({campaign_id} AS uuid)
      END
ORDER BY id
