-- average_vis_in_range: instances whose average_vis_score lies outside [0, the highest current_vis] (an average
-- can never exceed its largest member); 0 when every stored average is plausible.
SELECT count(*)
FROM program_instances
WHERE average_vis_score IS NOT NULL
  AND (average_vis_score < 0 OR average_vis_score > (SELECT coalesce(max(current_vis), 0) FROM vis_scores) + 0.005)
