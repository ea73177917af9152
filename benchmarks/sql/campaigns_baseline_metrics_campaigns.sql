-- Campaigns whose metrics are refreshed (campaigns.md §4), with every column the rollup and snapshots read.
-- With :campaign_id set, that one campaign in any status (forced snapshots, campaigns.md §5).
SELECT id::text AS id, name, company_id::text AS company_id, program_template_id::text AS program_template_id,
       beneficiary_group_id::text AS beneficiary_group_id, status::text AS status, target_volunteers,
       target_beneficiaries, max_sessions, budget_allocated, budget_spent, committed_seats, credit_allocation,
       iaas_metrics, total_sessions_completed, capacity_utilization, current_volunteers, current_beneficiaries,
       current_sessions, total_hours_logged, cumulative_sroi, average_vis
FROM campaigns
WHERE CASE
          WHEN CAST(:campaign_id AS uuid) IS NULL THEN is_active AND status IN ('active', 'recruiting', 'paused')
          ELSE id = CAST(:campaign_id AS uuid)
      END
ORDER BY id
