-- The peer: ClickHouse pulls outcome_scores itself with the postgresql() table function and applies the same
-- mapping as the pipeline (analytics.md §2) in SQL. The WHERE is pushed down to PostgreSQL.
INSERT INTO {db:Identifier}.outcome_scores_ch
SELECT
    id,
    ifNull(user_id, toUUID('00000000-0000-0000-0000-000000000000')),
    ifNull(company_id, toUUID('00000000-0000-0000-0000-000000000000')),
    text_id,
    ifNull(text_type, ''),
    dimension,
    toFloat32(score),
    toFloat32(ifNull(confidence, 0)),
    ifNull(model_version, ''),
    created_at,
    toStartOfFifteenMinutes(created_at),
    toUnixTimestamp64Micro(created_at)
FROM postgresql({address:String}, {database:String}, 'outcome_scores', {user:String}, '')
WHERE created_at >= {start:DateTime64(6, 'UTC')} AND created_at < {end:DateTime64(6, 'UTC')}
SETTINGS optimize_on_insert = 0
