-- One conditional step; zero rows means a concurrent change (skipped, not an error).
UPDATE campaigns
SET status                 = CAST(:to_status AS campaign_status),
    updated_at             = now(),
    last_metrics_update_at = CASE WHEN :to_status = 'completed' THEN now() ELSE last_metrics_update_at END,
    is_active              = CASE WHEN :to_status = 'closed' THEN false ELSE is_active END,
    is_archived            = CASE WHEN :to_status = 'closed' THEN true ELSE is_archived END
WHERE id = :id
  AND status = CAST(:from_status AS campaign_status)
RETURNING now() AS transitioned_at
