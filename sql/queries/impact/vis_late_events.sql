-- A late event: stored after the partition was computed, yet inside its window (vis.md §6).
SELECT EXISTS (
    SELECT 1
    FROM buddy_system_events
    WHERE created_at > :calculated_at
      AND "timestamp" <= :as_of
      AND user_id IS NOT NULL
) AS late
