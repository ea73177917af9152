-- analytics.md §5: every company, for the full refresh of companies_ch.
SELECT id, name, industry, country, employee_count, created_at
FROM companies
