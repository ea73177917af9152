-- Job A candidates at evaluation date date(T) (campaigns.md §3).
SELECT id, name, company_id, status::text AS status, start_date, end_date
FROM campaigns
WHERE is_active
  AND ((status IN ('planned', 'recruiting') AND start_date <= :as_of_date)
       OR (status = 'active' AND end_date <= :as_of_date))
ORDER BY id
