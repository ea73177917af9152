SELECT count(*) AS total, min(received_at) AS oldest, max(received_at) AS newest,
       coalesce(jsonb_object_agg(event_type, n) FILTER (WHERE event_type IS NOT NULL), '{}') AS by_event_type
FROM (
    SELECT event_type, received_at, count(*) OVER (PARTITION BY event_type) AS n
    FROM webhook_inbox
    WHERE status = 'dead'
) dead
