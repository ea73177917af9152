-- Buddy events with a user and after < timestamp <= until (vis.md §1). psycopg COPY: %(name)s placeholders.
-- Timestamps leave as integer microseconds since the epoch so no text parsing or time-zone rule is involved.
SELECT user_id,
       event_type,
       (extract(epoch FROM "timestamp") * 1000000)::bigint AS timestamp_us
FROM buddy_system_events
WHERE user_id IS NOT NULL
  AND "timestamp" > %(after)s
  AND "timestamp" <= %(until)s
