"""Analytics on real PostgreSQL, chDB and NATS: windows replace instead of duplicating, a range run equals its single
windows, late completions and updates arrive, a ClickHouse failure mid-window is repaired by the retry, the daily
reconcile re-syncs late rows, companies mirror deletes, analytics.synced is published, FinOps replaces its day."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta

import dagster as dg
import numpy as np
import pytest
import sqlalchemy as sa

from teei_pipelines import seed
from teei_pipelines.defs.analytics import sync_io
from teei_pipelines.defs.analytics.assets import (
    campaign_metrics_ch,
    companies_ch,
    cost_facts,
    outcome_scores_ch,
    synced_event,
    user_events_ch,
    vis_scores_ch,
)
from teei_pipelines.defs.analytics.reconcile import analytics_reconcile_job
from teei_pipelines.defs.analytics.schedules import analytics_sync_schedule, finops_schedule
from teei_pipelines.defs.analytics.targets import OUTCOME_SCORES, USER_EVENTS, VIS_SCORES
from teei_pipelines.domain import sync as rules
from teei_pipelines.domain.subjects import STREAM_NAME
from teei_pipelines.resources.nats import run_sync

from ..conftest import pg_scalar

DAY = date(2026, 3, 10)
W10 = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)  # the busy window
WINDOW_ASSETS = [outcome_scores_ch, user_events_ch, vis_scores_ch, campaign_metrics_ch]


def key(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d-%H:%M")


@pytest.fixture
def seeded(engine):
    seed.load_postgres(engine, seed.generate(0.25, 7, seed.anchor_from("2026-11-28")))
    with engine.begin() as connection:
        # 40 rows sharing one microsecond timestamp (a keyset page boundary must not skip or repeat any), rows on
        # both sides of the 10:15 boundary, and three rows in every window of the day, some with NULL ids.
        connection.execute(
            sa.text(
                "INSERT INTO outcome_scores (text_id, text_type, dimension, score, confidence, model_version, "
                "user_id, company_id, created_at) "
                "SELECT gen_random_uuid(), 'feedback', 'confidence', 0.5, NULL, NULL, NULL, NULL, "
                "timestamptz '2026-03-10 10:05:00.000001+00' FROM generate_series(1, 40)"
            )
        )
        connection.execute(
            sa.text(
                "INSERT INTO outcome_scores (text_id, text_type, dimension, score, confidence, model_version, "
                "user_id, company_id, created_at) VALUES "
                "(gen_random_uuid(), 'feedback', 'belonging', 0.9, 0.8, 'taxonomy-v1', "
                " (SELECT id FROM users LIMIT 1), (SELECT id FROM companies LIMIT 1), "
                " timestamptz '2026-03-10 10:14:59.999999+00'), "
                "(gen_random_uuid(), 'feedback', 'belonging', 0.1, 0.2, 'taxonomy-v1', NULL, NULL, "
                " timestamptz '2026-03-10 10:15:00+00')"
            )
        )
        connection.execute(
            sa.text(
                "INSERT INTO outcome_scores (text_id, dimension, score, created_at) "
                "SELECT gen_random_uuid(), 'wellbeing', (g % 1000) / 1000.0, "
                "timestamptz '2026-03-10 00:00:00+00' + (g * 5 || ' minutes')::interval + interval '17 seconds' "
                "FROM generate_series(0, 287) g"
            )
        )
    return engine


@pytest.fixture
def small_blocks(monkeypatch):
    monkeypatch.setenv("SYNC_INSERT_BLOCK_ROWS", "7")


def materialize(assets, resources, *, partition=None, first=None, last=None, raise_on_error=True):
    tags = {}
    if first is not None:
        tags = {"dagster/asset_partition_range_start": key(first), "dagster/asset_partition_range_end": key(last)}
    return dg.materialize(
        assets,
        partition_key=None if partition is None else key(partition),
        tags=tags,
        resources=resources,
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=raise_on_error,
    )


@pytest.fixture
def resources(postgres, clickhouse, nats):
    return {"postgres": postgres, "clickhouse": clickhouse, "nats": nats}


def ch_rows(clickhouse, table: str, final: bool = True) -> list[tuple]:
    return clickhouse.client.query(
        f"SELECT * FROM {clickhouse.table(table)} {'FINAL' if final else ''} ORDER BY ALL"
    ).result_rows


def check_result(result, name: str) -> dg.AssetCheckEvaluation:
    return next(e for e in result.get_asset_check_evaluations() if e.check_name == name)


def test_a_window_synced_twice_gives_the_same_table_and_reconciles(seeded, resources, clickhouse, small_blocks):
    first = materialize([outcome_scores_ch], resources, partition=W10)
    rows = ch_rows(clickhouse, "outcome_scores_ch", final=False)
    expected = pg_scalar(
        seeded,
        "SELECT count(*) FROM outcome_scores WHERE created_at >= :s AND created_at < :e",
        {"s": W10, "e": W10 + rules.WINDOW},
    )
    assert len(rows) == expected >= 44  # the 40 tied rows, the 10:14:59.999999 row, three spread rows
    assert check_result(first, "outcome_scores_ch_reconciles").passed

    second = materialize([outcome_scores_ch], resources, partition=W10)
    assert ch_rows(clickhouse, "outcome_scores_ch", final=False) == rows  # replaced, not appended
    meta = second.asset_materializations_for_node("analytics__outcome_scores_ch")[0].metadata
    assert meta["rows_replaced"].value == expected and meta["clickhouse_inserts"].value >= expected // 7
    assert check_result(second, "outcome_scores_ch_reconciles").passed
    # microseconds survive, the boundary row belongs to the next window, NULL ids become the nil UUID
    stamps = {row[9] for row in rows}
    assert datetime(2026, 3, 10, 10, 14, 59, 999999) in stamps
    assert datetime(2026, 3, 10, 10, 15) not in stamps
    assert sum(1 for row in rows if row[1] == uuid.UUID(int=0)) >= 40
    # scores are the Float32 of PostgreSQL's ::float8 of the decimal; NULL confidence is 0
    with seeded.connect() as connection:
        pg_scores = connection.execute(
            sa.text(
                "SELECT id, score::float8, coalesce(confidence, 0)::float8 FROM outcome_scores "
                "WHERE created_at >= :s AND created_at < :e"
            ),
            {"s": W10, "e": W10 + rules.WINDOW},
        ).all()
    as_float32 = {row_id: (float(np.float32(s)), float(np.float32(c))) for row_id, s, c in pg_scores}
    assert {row[0]: (row[6], row[7]) for row in rows} == as_float32
    assert {score for score, _ in as_float32.values()} >= {float(np.float32(0.5)), float(np.float32(0.9))}
    status = clickhouse.client.query(
        f"SELECT rows_written, window_end FROM {clickhouse.table('sync_status')} FINAL "
        "WHERE table_name = 'outcome_scores_ch' AND window_start = {s:DateTime('UTC')}",
        parameters={"s": W10},
    ).result_rows
    assert status == [(expected, (W10 + rules.WINDOW).replace(tzinfo=None))]


def test_a_96_window_range_equals_the_sum_of_single_windows(seeded, resources, clickhouse, postgres, small_blocks):
    start, end = rules.day_windows(DAY)
    # completions inside the day for enrollments from earlier days
    with seeded.begin() as connection:
        connection.execute(
            sa.text(
                "UPDATE program_enrollments SET status = 'completed', completed_at = :day + (random() * interval "
                "'23 hours') WHERE id IN (SELECT id FROM program_enrollments WHERE enrolled_at < :day LIMIT 25)"
            ),
            {"day": start},
        )
    ranged = materialize([outcome_scores_ch, user_events_ch], resources, first=start, last=end - rules.WINDOW)
    assert ranged.success
    assert check_result(ranged, "user_events_ch_reconciles").passed
    by_range = {t: ch_rows(clickhouse, t) for t in ("outcome_scores_ch", "user_events_ch")}
    for target in (OUTCOME_SCORES, USER_EVENTS):
        clickhouse.client.command(f"TRUNCATE TABLE {clickhouse.table(target.table)}")
        for window_start in rules.windows_covering(start, end):
            sync_io.sync_range(postgres.engine, clickhouse, target, window_start, window_start + rules.WINDOW, 7)
    assert {t: ch_rows(clickhouse, t) for t in by_range} == by_range
    pg_total = pg_scalar(
        seeded, "SELECT count(*) FROM outcome_scores WHERE created_at >= :s AND created_at < :e", {"s": start, "e": end}
    )
    assert len(by_range["outcome_scores_ch"]) == pg_total
    assert sum(1 for row in by_range["user_events_ch"] if row[3] == "program_completed") >= 25


def test_a_completion_days_after_enrollment_reaches_clickhouse(seeded, resources, clickhouse):
    with seeded.begin() as connection:
        enrollment = connection.execute(
            sa.text(
                "INSERT INTO program_enrollments (user_id, program_type, enrolled_at) "
                "VALUES ((SELECT id FROM users ORDER BY id LIMIT 1), 'upskilling', :at) RETURNING id"
            ),
            {"at": W10 + timedelta(minutes=3)},
        ).scalar_one()
    materialize([user_events_ch], resources, partition=W10)
    completed_at = W10 + timedelta(days=3, hours=4, minutes=2, microseconds=5)
    with seeded.begin() as connection:
        connection.execute(
            sa.text("UPDATE program_enrollments SET status = 'completed', completed_at = :at WHERE id = :id"),
            {"at": completed_at, "id": enrollment},
        )
    result = materialize([user_events_ch], resources, partition=rules.window_floor(completed_at))
    assert check_result(result, "user_events_ch_reconciles").passed
    materialize([user_events_ch], resources, partition=W10)  # re-syncing the enrolment window adds nothing
    events = clickhouse.client.query(
        f"SELECT id, event_type, event_timestamp, metadata FROM {clickhouse.table('user_events_ch')} FINAL "
        "WHERE id IN ({a:UUID}, {b:UUID}) ORDER BY event_timestamp",
        parameters={"a": str(enrollment), "b": str(uuid.uuid5(enrollment, "completed"))},
    ).result_rows
    assert [(str(e[0]), e[1]) for e in events] == [
        (str(enrollment), "enrolled"),
        (str(uuid.uuid5(enrollment, "completed")), "program_completed"),
    ]
    assert events[1][2] == completed_at.replace(tzinfo=None)
    assert json.loads(events[1][3]) == {"enrollment_id": str(enrollment)}


def test_an_updated_row_moves_to_its_new_window_and_replaces_the_old_version(seeded, resources, clickhouse):
    with seeded.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO vis_scores (user_id, current_vis, raw_points, as_of, calculated_at) "
                "VALUES ('u-moving', 10.5, 12, :at, :at)"
            ),
            {"at": W10 + timedelta(minutes=1)},
        )
    materialize([vis_scores_ch], resources, partition=W10)
    later = W10 + timedelta(days=1, minutes=31)
    with seeded.begin() as connection:
        connection.execute(
            sa.text("UPDATE vis_scores SET current_vis = 42.25, calculated_at = :at WHERE user_id = 'u-moving'"),
            {"at": later},
        )
    result = materialize([vis_scores_ch], resources, partition=rules.window_floor(later))
    assert check_result(result, "vis_scores_ch_reconciles").passed
    rows = clickhouse.client.query(
        f"SELECT current_vis, _window_start FROM {clickhouse.table('vis_scores_ch')} FINAL WHERE user_id = 'u-moving'"
    ).result_rows
    assert [(float(r[0]), r[1]) for r in rows] == [(42.25, rules.window_floor(later).replace(tzinfo=None))]
    # the old window now holds nothing on either side
    assert sync_io.reconcile(seeded, clickhouse, VIS_SCORES, W10, W10 + rules.WINDOW).passed


def test_a_clickhouse_error_mid_window_leaves_no_partial_window_after_the_retry(
    seeded, resources, clickhouse, small_blocks
):
    # A constraint rejects the block holding the 10:14:59.999999 row until a deadline passes: the first attempt
    # inserts earlier blocks and fails; the retry (IO_RETRY, ~5 s later) must replace them, not add to them.
    deadline = datetime.now(UTC) + timedelta(seconds=2)
    clickhouse.client.command(
        f"ALTER TABLE {clickhouse.table('outcome_scores_ch')} ADD CONSTRAINT flaky "
        f"CHECK dimension != 'belonging' OR now() > toDateTime('{deadline:%Y-%m-%d %H:%M:%S}', 'UTC')"
    )
    result = materialize([outcome_scores_ch], resources, partition=W10)
    retried = [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    assert retried, "the first attempt should have failed inside the window"
    expected = pg_scalar(
        seeded,
        "SELECT count(*) FROM outcome_scores WHERE created_at >= :s AND created_at < :e",
        {"s": W10, "e": W10 + rules.WINDOW},
    )
    raw = ch_rows(clickhouse, "outcome_scores_ch", final=False)
    assert len(raw) == expected and len({row[0] for row in raw}) == expected
    assert check_result(result, "outcome_scores_ch_reconciles").passed
    # the successful attempt found the failed attempt's blocks and deleted them before inserting
    meta = result.asset_materializations_for_node("analytics__outcome_scores_ch")[0].metadata
    assert 0 < meta["rows_replaced"].value < expected


def test_a_late_commit_fails_the_check_and_the_daily_reconcile_resyncs_the_window(
    seeded, resources, clickhouse, postgres
):
    start, end = rules.day_windows(DAY)
    materialize([outcome_scores_ch], resources, first=start, last=end - rules.WINDOW)
    with seeded.begin() as connection:  # committed after its window was synced
        connection.execute(
            sa.text(
                "INSERT INTO outcome_scores (text_id, dimension, score, created_at) "
                "VALUES (gen_random_uuid(), 'late', 0.3, :at)"
            ),
            {"at": W10 + timedelta(minutes=2)},
        )
    stale = sync_io.reconcile(seeded, clickhouse, OUTCOME_SCORES, start, end)
    assert not stale.passed and stale.mismatched["window_start"].to_list() == [W10]

    result = analytics_reconcile_job.execute_in_process(
        run_config={"ops": {"reconcile_day": {"config": {"day": DAY.isoformat()}}}},
        resources={"postgres": postgres, "clickhouse": clickhouse},
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success
    repaired = [m for m in result.asset_materializations_for_node("reconcile_day")]
    assert [(m.asset_key.path[-1], m.partition) for m in repaired] == [("outcome_scores_ch", key(W10))]
    assert sync_io.reconcile(seeded, clickhouse, OUTCOME_SCORES, start, end).passed

    bad = analytics_reconcile_job.execute_in_process(
        run_config={"ops": {"reconcile_day": {"config": {"day": "2026-02-30"}}}},
        resources={"postgres": postgres, "clickhouse": clickhouse},
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    assert not bad.success
    assert "not YYYY-MM-DD" in bad.failure_data_for_node("reconcile_day").error.message


def test_companies_ch_mirrors_postgres_including_deletes_and_size_bands(seeded, resources, clickhouse):
    with seeded.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO companies (name, industry, country, employee_count) VALUES "
                "('Tiny', NULL, NULL, 49), ('Mid', 'tech', 'NO', 50), ('Big', 'energy', 'UA', 250), "
                "('Unknown', 'retail', 'DE', NULL)"
            )
        )
    result = materialize([companies_ch], resources)
    assert check_result(result, "companies_ch_reconciles").passed
    sizes = dict(
        clickhouse.client.query(
            f"SELECT name, employee_size FROM {clickhouse.table('companies_ch')} FINAL "
            "WHERE name IN ('Tiny', 'Mid', 'Big', 'Unknown')"
        ).result_rows
    )
    assert sizes == {"Tiny": "small", "Mid": "medium", "Big": "large", "Unknown": "unknown"}
    with seeded.begin() as connection:
        connection.execute(sa.text("DELETE FROM companies WHERE name = 'Tiny'"))
    materialize([companies_ch], resources)
    names = [
        row[0] for row in clickhouse.client.query(f"SELECT name FROM {clickhouse.table('companies_ch')}").result_rows
    ]
    assert "Tiny" not in names
    assert len(names) == pg_scalar(seeded, "SELECT count(*) FROM companies")  # no older versions left, even unmerged


def test_analytics_synced_is_written_once_per_window_and_reaches_jetstream(seeded, resources, clickhouse, nats):
    job_assets = [*WINDOW_ASSETS, synced_event]
    materialize(job_assets, resources, partition=W10)
    materialize(job_assets, resources, partition=W10)
    msg_id = f"analytics.synced:{W10.isoformat()}"
    with seeded.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT payload, published_at FROM event_outbox WHERE msg_id = :m"), {"m": msg_id}
        ).all()
    assert len(rows) == 1 and rows[0].published_at is not None
    data = rows[0].payload["data"]
    expected = pg_scalar(
        seeded,
        "SELECT count(*) FROM outcome_scores WHERE created_at >= :s AND created_at < :e",
        {"s": W10, "e": W10 + rules.WINDOW},
    )
    assert data["outcomeScores"] == expected
    assert data["windowStart"] == W10.isoformat() and data["windowEnd"] == (W10 + rules.WINDOW).isoformat()
    assert set(data) >= {"timestamp", "userEvents", "visScores", "campaignSnapshots", "companies", "duration"}

    async def fetch():
        async with nats.jetstream() as (_, js):
            message = await js.get_last_msg(STREAM_NAME, "analytics.synced")
            return message.headers.get("Nats-Msg-Id"), json.loads(message.data)

    header, envelope = run_sync(fetch())
    assert header == msg_id and envelope["data"]["outcomeScores"] == expected


def _telemetry(clickhouse, day: date) -> None:
    at = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
    db = clickhouse.database
    client = clickhouse.client
    client.command(
        f"INSERT INTO {db}.ai_token_telemetry (tenant_id, request_id, model, region, service, input_tokens, "
        "output_tokens, total_tokens, cost_usd, latency_ms, user_id, metadata, timestamp) VALUES "
        "('t1', 'r1', 'gpt', 'eu', 'q2q', 100, 50, 150, 0.5, 100, 'u', '{}', {at:DateTime64(3)}), "
        "('t1', 'r2', 'gpt', 'eu', 'q2q', 300, 50, 350, 1.25, 201, 'u', '{}', {at:DateTime64(3)}), "
        "('t1', 'r3', 'gpt', 'us', 'q2q', 10, 5, 15, 0.1, 50, 'u', '{}', {at:DateTime64(3)}), "
        "('t1', 'r4', 'gpt', 'eu', 'reports', 10, 5, 15, 0.2, 50, 'u', '{}', {at:DateTime64(3)}), "
        "('t1', 'r5', 'gpt', 'eu', 'q2q', 999, 999, 1998, 9, 1, 'u', '{}', {next:DateTime64(3)})",
        parameters={"at": at, "next": at + timedelta(days=1)},
    )
    client.command(
        f"INSERT INTO {db}.egress_telemetry VALUES ('t1', 'eu', 'us', 1000, 0.01, {{at:DateTime64(3)}})",
        parameters={"at": at},
    )
    client.command(
        f"INSERT INTO {db}.storage_telemetry VALUES ('t1', 's3', 'eu', 10, 0.5, {{d:Date}}, now())",
        parameters={"d": day},
    )


def test_cost_facts_replace_their_day_keep_region_and_service_and_write_json(resources, clickhouse):
    _telemetry(clickhouse, DAY)
    fin = {"clickhouse": clickhouse}
    for _ in range(2):
        result = dg.materialize([cost_facts], partition_key=DAY.isoformat(), resources=fin)
        assert check_result(result, "cost_facts_unique_key").passed
    rows = clickhouse.client.query(
        "SELECT category, subcategory, region, service, toFloat64(amount), metadata "
        f"FROM {clickhouse.table('cost_facts')} WHERE day = {{d:Date}} ORDER BY category, region, service",
        parameters={"d": DAY},
    ).result_rows
    assert [(r[0], r[1], r[2], r[3], r[4]) for r in rows] == [
        ("AI", "gpt", "eu", "q2q", 1.75),
        ("AI", "gpt", "eu", "reports", 0.2),
        ("AI", "gpt", "us", "q2q", 0.1),
        ("EGRESS", "eu->us", "eu", "", 0.01),
        ("STORAGE", "s3", "eu", "", 0.5),
    ]
    assert json.loads(rows[0][5]) == {
        "total_input_tokens": 400,
        "total_output_tokens": 100,
        "request_count": 2,
        "avg_latency_ms": 150.5,
    }
    meta = result.asset_materializations_for_node("analytics__cost_facts")[0].metadata
    assert meta["ai_records"].value == 3 and meta["rows"].value == 5
    status = clickhouse.client.query(
        f"SELECT last_synced_day, records_synced FROM {clickhouse.table('finops_sync_status')} FINAL"
    ).result_rows
    assert status == [(DAY, 5)]
    empty = dg.materialize([cost_facts], partition_key=(DAY - timedelta(days=1)).isoformat(), resources=fin)
    assert empty.asset_materializations_for_node("analytics__cost_facts")[0].metadata["rows"].value == 0


def test_schedules_pick_the_newest_complete_window_and_yesterday(monkeypatch):
    monkeypatch.setenv("ANALYTICS_SYNC_LAG_MINUTES", "5")
    tick = datetime(2026, 3, 10, 10, 15, tzinfo=UTC)
    request = analytics_sync_schedule(dg.build_schedule_context(scheduled_execution_time=tick))
    assert request.partition_key == "2026-03-10-09:45"
    finops = finops_schedule(dg.build_schedule_context(scheduled_execution_time=tick))
    assert finops.partition_key == "2026-03-09"


def test_reconcile_reports_an_identity_stored_under_two_sorting_keys(seeded, resources, clickhouse):
    materialize([outcome_scores_ch], resources, partition=W10)
    table = clickhouse.table("outcome_scores_ch")
    # the same id again with another created_at: a different sorting key, so FINAL cannot collapse it
    clickhouse.client.command(
        f"INSERT INTO {table} SELECT id, user_id, company_id, text_id, text_type, dimension, score, confidence, "
        f"model_version, created_at + INTERVAL 1 SECOND, _window_start, _version + 1 FROM {table} LIMIT 1"
    )
    found = sync_io.reconcile(seeded, clickhouse, OUTCOME_SCORES, W10, W10 + rules.WINDOW)
    assert found.duplicate_ids == 1
    assert not found.passed
