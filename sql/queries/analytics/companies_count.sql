-- analytics.md §5: companies in PostgreSQL, for the companies_ch check.
SELECT count(*) FROM companies
