"""Demo data: deterministic, realistic, loads with COPY into the real schema (FKs and CHECKs enforce it)."""

from __future__ import annotations

from datetime import datetime

import pytest
import sqlalchemy as sa

from teei_pipelines import seed

ANCHOR = seed.anchor_from("2026-11-28")


@pytest.fixture(scope="module")
def demo() -> seed.SeedData:
    return seed.generate(1, 42, ANCHOR)


def test_same_seed_same_rows_other_seed_other_rows(demo):
    again = seed.generate(1, 42, ANCHOR)
    for table, frame in demo.postgres.items():
        assert frame.equals(again.postgres[table]), table
    other = seed.generate(1, 7, ANCHOR)
    assert not demo.postgres["buddy_system_events"].equals(other.postgres["buddy_system_events"])


def test_scale_one_matches_the_demo_shape(demo):
    counts = demo.row_counts()
    assert counts["companies"] == 3
    assert counts["campaigns"] == 24
    assert counts["program_instances"] == 60
    assert counts["users"] == 500
    assert counts["buddy_system_events"] == 20_000
    assert counts["outcome_scores"] == 20_000
    assert counts["notification_schedules"] == 1
    assert counts["program_enrollments"] > 900
    campaigns = demo.postgres["campaigns"]
    assert set(campaigns["status"]) == set(seed.CAMPAIGN_STATUSES)
    assert set(campaigns["pricing_model"]) == set(seed.PRICING_MODELS)
    active_credit = campaigns.filter((campaigns["status"] == "active") & (campaigns["pricing_model"] == "credits"))
    assert active_credit.height >= 1, "Job C needs an active credits campaign in the demo"
    events = demo.postgres["buddy_system_events"]
    span = events["timestamp"].max() - events["timestamp"].min()
    assert span.days >= 700, "events span two years"
    assert events["user_id"].null_count() > 0, "a few anonymous events exercise the NULL user_id rule"
    assert (events["timestamp"] > ANCHOR).sum() > 0, "a few future-dated events exercise the as_of rule"


def test_scale_grows_the_data_linearly():
    bigger = seed.generate(3, 42, ANCHOR).row_counts()
    assert bigger["buddy_system_events"] == 60_000
    assert bigger["campaigns"] == 72


def test_load_into_the_real_schema_and_refuse_a_second_seed(engine, demo):
    report = seed.load_postgres(engine, demo)
    assert report.rows == sum(frame.height for frame in demo.postgres.values())
    assert report.rows_per_second > 0
    with engine.connect() as connection:
        counted = {
            table: connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one() for table in demo.postgres
        }
        assert counted == {table: frame.height for table, frame in demo.postgres.items()}
        # Timestamps survive the CSV round trip with microseconds and the UTC offset.
        first = demo.postgres["buddy_system_events"].row(0, named=True)
        stored = connection.execute(
            sa.text('SELECT "timestamp" FROM buddy_system_events WHERE id = :id'), {"id": first["id"]}
        ).scalar_one()
        assert stored == first["timestamp"]
        assert isinstance(stored, datetime) and stored.utcoffset().total_seconds() == 0
        # Profile fields are only partly filled, as the completeness job expects.
        filled = connection.execute(
            sa.text(
                "SELECT count(*) FILTER (WHERE phone IS NULL), count(*) FILTER (WHERE phone IS NOT NULL) FROM users"
            )
        ).one()
        assert filled[0] > 0 and filled[1] > 0
    with pytest.raises(RuntimeError, match="already holds data"):
        seed.load_postgres(engine, demo)


def test_telemetry_loads_into_clickhouse(clickhouse, demo):
    report = seed.load_clickhouse(clickhouse.client, clickhouse.database, demo)
    assert report.table_rows["ai_token_telemetry"] == 2_000
    stored = clickhouse.client.query(
        f"SELECT count(), uniqExact(tenant_id) FROM {clickhouse.table('ai_token_telemetry')}"
    ).result_rows[0]
    assert stored == (2_000, 3)
    storage = clickhouse.client.query(f"SELECT count() FROM {clickhouse.table('storage_telemetry')} FINAL").result_rows[
        0
    ][0]
    assert storage == demo.clickhouse["storage_telemetry"].height


def test_bulk_tables_get_their_secondary_indexes_back(engine, demo):
    def indexes():
        with engine.connect() as connection:
            return connection.execute(
                sa.text(
                    "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ('buddy_system_events', "
                    "'outcome_scores') ORDER BY 1"
                )
            ).all()

    before = indexes()
    assert len(before) >= 8
    report = seed.load_postgres(engine, demo, bulk_rows=10_000)  # both 20,000-row tables take the bulk path
    assert report.table_rows["buddy_system_events"] == 20_000
    assert indexes() == before
