"""VIS assets on real PostgreSQL: idempotent partitions, range backfills equal single runs, the incremental path
equals the full path, the blocking check stops a bad refresh, and the current-state tables follow the newest day."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import dagster as dg
import polars as pl
import pytest
import sqlalchemy as sa

from teei_pipelines import seed
from teei_pipelines.defs.impact import vis_store
from teei_pipelines.defs.impact.assets import program_instance_vis, vis_scores, vis_scores_daily
from teei_pipelines.defs.impact.schedules import vis_daily_schedule
from teei_pipelines.domain.rounding import fixed
from teei_pipelines.domain.vis import DecayParams, compute_vis, full_state, rank_state

from ..conftest import pg_rows, pg_scalar, wait_until

ANCHOR = seed.anchor_from("2026-11-28")
DAY = date(2026, 11, 27)
ASSETS = [vis_scores_daily, vis_scores, program_instance_vis]
COMPARED = (
    "partition_date, user_id, as_of, profile_id, current_vis, raw_points, decay_adjusted_points, decay_sum, "
    "percentile, rank, activity_breakdown, last_activity_date, lambda, decay_enabled"
)


@pytest.fixture
def seeded(engine):
    seed.load_postgres(engine, seed.generate(0.25, 3, ANCHOR))
    return engine


def run(
    postgres,
    *,
    partition: date | None = None,
    first: date | None = None,
    last: date | None = None,
    mode: str = "auto",
    selection=ASSETS,
    raise_on_error: bool = True,
) -> dg.ExecuteInProcessResult:
    tags = {}
    if first is not None:
        tags = {
            "dagster/asset_partition_range_start": first.isoformat(),
            "dagster/asset_partition_range_end": last.isoformat(),
        }
    return dg.materialize(
        selection,
        partition_key=partition.isoformat() if partition else None,
        tags=tags,
        resources={"postgres": postgres},
        run_config={"ops": {"impact__vis_scores_daily": {"config": {"mode": mode}}}},
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=raise_on_error,
    )


def daily_rows(engine, days=None) -> list[tuple]:
    where = "" if days is None else f"WHERE partition_date BETWEEN '{days[0]}' AND '{days[1]}'"
    return pg_rows(engine, f"SELECT {COMPARED} FROM vis_scores_daily {where} ORDER BY partition_date, user_id")


def test_partition_matches_the_domain_function_and_reruns_identically(seeded, postgres):
    run(postgres, partition=DAY)
    events = vis_store.read_events(seeded, None, datetime(2030, 1, 1, tzinfo=UTC))
    expected = compute_vis(events, vis_store.as_of(DAY)).sort("user_id")
    stored = pl.DataFrame(
        pg_rows(
            seeded,
            "SELECT user_id, current_vis::float8, raw_points, rank, percentile::float8 FROM vis_scores_daily "
            f"WHERE partition_date = '{DAY}' ORDER BY user_id",
        ),
        schema=["user_id", "current_vis", "raw_points", "rank", "percentile"],
        orient="row",
    )
    assert stored.height == expected.height > 50
    assert stored.equals(expected.select(stored.columns).with_columns(pl.col("rank").cast(pl.Int64)))
    # Future-dated seed events are excluded: nobody scores more than their raw points.
    assert not pg_rows(seeded, "SELECT 1 FROM vis_scores_daily WHERE current_vis > raw_points")

    before = daily_rows(seeded)
    latest_before = pg_rows(seeded, "SELECT user_id, id, current_vis, rank FROM vis_scores ORDER BY user_id")
    run(postgres, partition=DAY, mode="full")
    assert daily_rows(seeded) == before
    assert pg_rows(seeded, "SELECT user_id, id, current_vis, rank FROM vis_scores ORDER BY user_id") == latest_before
    assert pg_rows(seeded, "SELECT count(*) FROM vis_scores_daily")[0][0] == len(before)


def test_a_range_backfill_equals_partition_by_partition_runs(seeded, postgres):
    first, last = DAY - timedelta(days=29), DAY
    result = run(postgres, first=first, last=last)
    meta = result.asset_materializations_for_node("impact__vis_scores_daily")[0].metadata
    assert meta["partitions"].value == 30
    assert meta["methods"].value == {"full": 1, "incremental": 29}
    ranged = daily_rows(seeded)

    with seeded.begin() as connection:
        connection.execute(sa.text("TRUNCATE vis_scores_daily, vis_scores"))
    for offset in range(30):
        run(postgres, partition=first + timedelta(days=offset), selection=[vis_scores_daily])
    single = daily_rows(seeded)
    assert len(single) == len(ranged)
    for a, b in zip(ranged, single, strict=True):
        assert a[:7] == b[:7] and a[8:] == b[8:]
        assert a[7] == pytest.approx(b[7], rel=1e-12)  # decay_sum: same path, same arithmetic


def test_a_365_partition_backfill_is_one_run_that_stores_every_day(seeded, postgres):
    first = DAY - timedelta(days=364)
    result = run(postgres, first=first, last=DAY)
    meta = result.asset_materializations_for_node("impact__vis_scores_daily")[0].metadata
    assert (meta["partitions"].value, meta["methods"].value) == (365, {"full": 1, "incremental": 364})
    assert result.get_asset_check_evaluations()[0].passed
    # Each day holds exactly the users with an event at or before its as_of (vis.md §3), once.
    per_day = pg_rows(
        seeded,
        """
        WITH days AS (SELECT d::date AS day FROM generate_series(CAST(:first AS date), CAST(:last AS date), '1 day') d)
        SELECT days.day,
               (SELECT count(DISTINCT user_id) FROM buddy_system_events
                 WHERE user_id IS NOT NULL AND "timestamp" <= (days.day + 1)::timestamp AT TIME ZONE 'UTC') AS expected,
               (SELECT count(*) FROM vis_scores_daily v WHERE v.partition_date = days.day) AS stored
        FROM days ORDER BY days.day
        """,
        {"first": first, "last": DAY},
    )
    assert len(per_day) == 365
    assert [stored for _, _, stored in per_day] == [expected for _, expected, _ in per_day]
    assert per_day[0][1] < per_day[-1][1]  # the seed's users join over the year
    assert pg_rows(seeded, "SELECT DISTINCT as_of FROM vis_scores") == [(vis_store.as_of(DAY),)]


@pytest.fixture
def scores(seeded) -> pl.DataFrame:
    """DAY's scores, for writing straight through vis_store.DayWriter."""
    events = vis_store.read_events(seeded, None, vis_store.as_of(DAY))
    return rank_state(full_state(events, vis_store.as_of(DAY), DecayParams()))


@pytest.fixture
def day_writer(seeded):
    """vis_store.DayWriter on the seeded database with `connections` connections."""
    links = vis_store.read_profile_links(seeded)
    return lambda connections: vis_store.DayWriter(seeded, links, DecayParams(), connections)


def test_a_failed_day_write_is_raised_keeps_nothing_of_that_day_and_stops_the_days_after_it(seeded, scores, day_writer):
    # The last row violates CHECK (raw_points >= 0): the whole day must roll back, not just that row.
    broken = scores.with_columns(
        pl.when(pl.col("rank") == scores.height).then(-1).otherwise(pl.col("raw_points")).alias("raw_points")
    )
    before, after = DAY - timedelta(days=1), DAY + timedelta(days=1)

    with (
        pytest.raises(sa.exc.IntegrityError, match="raw_points_check"),
        day_writer(2) as writer,
    ):
        writer.write(before, scores, "full")
        writer.write(DAY, broken, "full")
    # One connection: the next write waits for the broken day, raises its error and is never started.
    with (
        pytest.raises(sa.exc.IntegrityError, match="raw_points_check"),
        day_writer(1) as writer,
    ):
        writer.write(DAY, broken, "full")
        writer.write(after, scores, "full")

    stored = pg_rows(seeded, "SELECT partition_date, count(*) FROM vis_scores_daily GROUP BY 1")
    assert stored == [(before, scores.height)]


def test_a_range_writes_a_later_day_while_an_earlier_one_waits(seeded, scores, day_writer):
    """Two connections: a row lock held on day A's old rows stalls A's delete, and day B is committed meanwhile."""
    day_a, day_b = DAY - timedelta(days=1), DAY
    with day_writer(1) as writer:
        writer.write(day_a, scores, "full")

    def rows_of(day: date) -> int:
        return pg_scalar(seeded, "SELECT count(*) FROM vis_scores_daily WHERE partition_date = :day", {"day": day})

    errors: list[BaseException] = []

    def write_both() -> None:
        try:
            with day_writer(2) as writer:
                writer.write(day_a, scores, "incremental")
                writer.write(day_b, scores, "incremental")
        except BaseException as exc:  # re-raised below, in the test's thread
            errors.append(exc)

    with seeded.connect() as holder:
        holder.execute(
            sa.text("SELECT 1 FROM vis_scores_daily WHERE partition_date = :day LIMIT 1 FOR UPDATE"), {"day": day_a}
        )
        writer_thread = threading.Thread(target=write_both)
        writer_thread.start()
        wait_until(lambda: rows_of(day_b), 60, "day B to commit while day A is blocked", 0.1)
        methods_of_a = pg_rows(
            seeded, "SELECT DISTINCT method FROM vis_scores_daily WHERE partition_date = :d", {"d": day_a}
        )
        assert methods_of_a == [("full",)]  # A's replacement is still waiting on the lock
        holder.rollback()
    writer_thread.join(60)
    assert not errors, errors
    assert rows_of(day_a) == rows_of(day_b) == scores.height
    assert pg_rows(seeded, "SELECT DISTINCT method FROM vis_scores_daily") == [("incremental",)]


def test_incremental_equals_full_and_the_check_passes(seeded, postgres):
    run(postgres, partition=DAY - timedelta(days=1), selection=[vis_scores_daily])
    result = run(postgres, partition=DAY, selection=[vis_scores_daily])
    check = result.get_asset_check_evaluations()[0]
    assert check.passed
    assert check.metadata["partition"].value == DAY.isoformat()
    incremental = daily_rows(seeded, (DAY, DAY))
    assert pg_rows(seeded, f"SELECT DISTINCT method FROM vis_scores_daily WHERE partition_date = '{DAY}'") == [
        ("incremental",)
    ]
    run(postgres, partition=DAY, mode="full", selection=[vis_scores_daily])
    full = daily_rows(seeded, (DAY, DAY))
    assert [row[:7] + row[8:] for row in incremental] == [row[:7] + row[8:] for row in full]
    assert [row[7] for row in incremental] == pytest.approx([row[7] for row in full], rel=1e-9)


def test_a_corrupted_previous_state_fails_the_blocking_check_and_vis_scores_keeps_its_rows(seeded, postgres):
    run(postgres, partition=DAY - timedelta(days=2))
    kept = pg_rows(seeded, "SELECT user_id, current_vis, as_of FROM vis_scores ORDER BY user_id")
    run(postgres, partition=DAY - timedelta(days=1), selection=[vis_scores_daily])
    with seeded.begin() as connection:  # simulate drift in the stored state
        connection.execute(
            sa.text(
                "UPDATE vis_scores_daily SET decay_sum = decay_sum + 5 "
                f"WHERE partition_date = '{DAY - timedelta(days=1)}' AND rank <= 3"
            )
        )
    result = run(postgres, partition=DAY, raise_on_error=False)
    check = result.get_asset_check_evaluations()[0]
    assert not check.passed
    assert check.metadata["mismatched_users"].value >= 1
    assert pg_rows(seeded, "SELECT user_id, current_vis, as_of FROM vis_scores ORDER BY user_id") == kept


def test_late_events_make_auto_fall_back_to_full(seeded, postgres):
    run(postgres, partition=DAY - timedelta(days=1), selection=[vis_scores_daily])
    with seeded.begin() as connection:
        connection.execute(
            sa.text(
                'INSERT INTO buddy_system_events (event_id, event_type, user_id, "timestamp", payload, created_at) '
                "VALUES (gen_random_uuid(), 'buddy.milestone.reached', 'late-user', :ts, '{}', now() + interval '1 s')"
            ),
            {"ts": datetime(2026, 11, 26, 10, tzinfo=UTC)},
        )
    result = run(postgres, partition=DAY, selection=[vis_scores_daily])
    meta = result.asset_materializations_for_node("impact__vis_scores_daily")[0].metadata
    assert "late events" in meta["full_because"].value
    assert meta["methods"].value == {"full": 1, "incremental": 0}
    assert pg_rows(
        seeded, f"SELECT raw_points FROM vis_scores_daily WHERE partition_date = '{DAY}' AND user_id = 'late-user'"
    ) == [(20,)]


def test_mode_incremental_without_a_previous_day_fails_clearly(seeded, postgres):
    result = run(postgres, partition=DAY, mode="incremental", selection=[vis_scores_daily], raise_on_error=False)
    assert not result.success
    failure = result.get_step_failure_events()[0].event_specific_data.error.message
    assert f"partition {DAY - timedelta(days=1)} is not in vis_scores_daily" in failure


def test_an_invalid_lambda_fails_the_run_with_a_config_error(seeded, postgres, monkeypatch):
    monkeypatch.setenv("VIS_LAMBDA", "-1")
    result = run(postgres, partition=DAY, selection=[vis_scores_daily], raise_on_error=False)
    assert not result.success
    message = result.get_step_failure_events()[0].event_specific_data.error.message
    assert "VIS_LAMBDA: -1.0 is not a finite float ≥ 0" in message
    assert pg_rows(seeded, "SELECT count(*) FROM vis_scores_daily") == [(0,)]


def test_vis_scores_follows_only_the_newest_day_and_drops_stale_users(seeded, postgres):
    run(postgres, partition=DAY)
    with seeded.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO vis_scores (user_id, current_vis, as_of, rank, percentile) "
                "VALUES ('gone-user', 99, now(), 1, 100)"
            )
        )
        linked = connection.execute(
            sa.text("SELECT user_id, id FROM vis_scores WHERE profile_id IS NOT NULL ORDER BY user_id LIMIT 1")
        ).one()
    run(postgres, partition=DAY)
    assert not pg_rows(seeded, "SELECT 1 FROM vis_scores WHERE user_id = 'gone-user'")
    assert pg_rows(seeded, f"SELECT id FROM vis_scores WHERE user_id = '{linked[0]}'") == [(linked[1],)]
    assert pg_rows(seeded, "SELECT DISTINCT as_of FROM vis_scores") == [(vis_store.as_of(DAY),)]
    # A backfill of an older day is recorded but leaves vis_scores on the newest day.
    result = run(postgres, partition=DAY - timedelta(days=10))
    assert result.asset_materializations_for_node("impact__vis_scores")[0].metadata["skipped"].value == (
        "not_latest_partition"
    )
    assert pg_rows(seeded, "SELECT DISTINCT as_of FROM vis_scores") == [(vis_store.as_of(DAY),)]


def test_profile_ids_resolve_through_users_and_buddy_external_ids(seeded, postgres):
    run(postgres, partition=DAY)
    rows = pg_rows(
        seeded,
        """
        SELECT d.user_id, d.profile_id,
               (SELECT u.id FROM users u WHERE u.id::text = d.user_id) AS direct,
               (SELECT x.profile_id FROM user_external_ids x WHERE x.provider = 'buddy' AND x.external_id = d.user_id)
        FROM vis_scores_daily d""",
    )
    assert any(row[0].startswith("buddy-") for row in rows), "the seed has external Buddy ids"
    for user_id, profile_id, direct, external in rows:
        assert profile_id == (direct or external), user_id


def test_program_instance_vis_is_the_tofixed_mean_of_enrolled_users(seeded, postgres):
    with seeded.begin() as connection:  # an instance nobody is enrolled in keeps NULL
        connection.execute(
            sa.text(
                "UPDATE program_instances SET average_vis_score = 1 WHERE id = ("
                "SELECT id FROM program_instances ORDER BY id LIMIT 1)"
            )
        )
        connection.execute(
            sa.text(
                "DELETE FROM program_enrollments WHERE program_instance_id = ("
                "SELECT id FROM program_instances ORDER BY id LIMIT 1)"
            )
        )
    run(postgres, partition=DAY)
    expected = pg_rows(
        seeded,
        """
        WITH per_user AS (
            SELECT DISTINCT ON (e.program_instance_id, e.user_id) e.program_instance_id, v.current_vis
            FROM program_enrollments e JOIN vis_scores v ON v.user_id = e.user_id::text OR v.profile_id = e.user_id
            ORDER BY e.program_instance_id, e.user_id, (v.user_id = e.user_id::text) DESC, v.user_id)
        SELECT program_instance_id, avg(current_vis::float8) FROM per_user GROUP BY 1""",
    )
    stored = dict(pg_rows(seeded, "SELECT id, average_vis_score FROM program_instances"))
    assert expected
    for instance_id, mean in expected:
        assert stored.pop(instance_id) == fixed(mean, 2)
    assert all(value is None for value in stored.values())


def test_schedule_requests_yesterday_with_a_stable_run_key():
    context = dg.build_schedule_context(scheduled_execution_time=datetime(2026, 11, 28, 2, tzinfo=UTC))
    request = vis_daily_schedule(context)
    assert request.partition_key == "2026-11-27" and request.run_key == "2026-11-27"
    early = dg.build_schedule_context(scheduled_execution_time=datetime(2025, 1, 1, 2, tzinfo=UTC))
    assert isinstance(vis_daily_schedule(early), dg.SkipReason)


def test_manual_recalculation_reports_the_requested_users_row(seeded, postgres):
    user = pg_rows(
        seeded,
        "SELECT user_id FROM buddy_system_events WHERE user_id IS NOT NULL "
        "AND \"timestamp\" < '2026-11-01' ORDER BY user_id LIMIT 1",
    )[0][0]
    result = dg.materialize(
        [vis_scores_daily],
        partition_key=DAY.isoformat(),
        resources={"postgres": postgres},
        run_config={"ops": {"impact__vis_scores_daily": {"config": {"mode": "full", "user_id": user}}}},
        instance=dg.DagsterInstance.ephemeral(),
    )
    requested = result.asset_materializations_for_node("impact__vis_scores_daily")[0].metadata["requested_user"].value
    stored = pg_rows(
        seeded,
        f"SELECT current_vis::float8, rank FROM vis_scores_daily WHERE partition_date = '{DAY}' AND user_id = :u",
        {"u": user},
    )[0]
    assert (requested["user_id"], requested["current_vis"], requested["rank"]) == (user, stored[0], stored[1])
