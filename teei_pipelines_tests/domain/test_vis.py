"""VIS rules (vis.md §1-§6), checked against the spec's worked examples and an independent row-by-row reference."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from teei_pipelines.domain import vis
from teei_pipelines.domain.rounding import fixed, round2_js
from teei_pipelines.domain.vis import (
    BREAKDOWN_KEYS,
    BREAKDOWN_TYPES,
    POINTS,
    POINTS_PER_KEY,
    DecayParams,
    advance_state,
    compare_incremental_with_full,
    compute_vis,
    full_state,
    rank_state,
)
from teei_pipelines.errors import ConfigError

R = datetime(2024, 1, 15, 12, tzinfo=UTC)


def events(*rows: tuple[str | None, str, datetime]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={"user_id": pl.String, "event_type": pl.String, "timestamp": pl.Datetime("us", "UTC")},
        orient="row",
    )


def reference_vis(rows, as_of, decay_lambda=0.01, enable_decay=True):
    """A deliberately naive, loop-based reading of vis.md §3-§4, independent of the polars code."""
    users: dict[str, dict] = {}
    for user, event_type, ts in rows:
        if user is None or ts > as_of:
            continue
        entry = users.setdefault(user, {"sum": 0.0, "raw": 0, "last": ts, **dict.fromkeys(BREAKDOWN_KEYS, 0)})
        points = POINTS.get(event_type, 0)
        days = (as_of - ts) / timedelta(milliseconds=1) / 86_400_000
        entry["sum"] += points * (math.exp(-decay_lambda * days) if enable_decay else 1.0)
        entry["raw"] += points
        entry["last"] = max(entry["last"], ts)
        for key, types in {
            "matches": ["buddy.match.created"],
            "events": ["buddy.event.attended", "buddy.event.logged"],
            "skill_shares": ["buddy.skill_share.completed"],
            "feedback": ["buddy.feedback.submitted"],
            "milestones": ["buddy.milestone.reached"],
            "checkins": ["buddy.checkin.completed"],
        }.items():
            entry[key] += event_type in types
    order = sorted(users, key=lambda u: (-round2_js(users[u]["sum"]), u))
    n = len(order)
    return {
        u: {
            "current_vis": round2_js(users[u]["sum"]),
            "raw_points": users[u]["raw"],
            "rank": i + 1,
            "percentile": math.floor((n - i) / n * 10000 + 0.5) / 100,
            "last": users[u]["last"],
            **{k: users[u][k] for k in BREAKDOWN_KEYS},
        }
        for i, u in enumerate(order)
    }


def test_worked_example_one_user_three_groups():
    rows = (
        [("u1", "buddy.match.created", R - timedelta(days=90))] * 5
        + [("u1", "buddy.event.attended", R - timedelta(days=60))] * 10
        + [("u1", "buddy.skill_share.completed", R - timedelta(days=150))] * 2
    )
    result = compute_vis(events(*rows), R).row(0, named=True)
    assert result["current_vis"] == 54.46
    assert result["decay_adjusted_points"] == 54.46
    assert result["raw_points"] == 130
    assert result["decay_sum"] == pytest.approx(54.46297, abs=1e-5)
    assert (result["matches"], result["events"], result["skill_shares"]) == (5, 10, 2)
    assert result["rank"] == 1 and result["percentile"] == 100.0


def test_worked_example_percentiles_for_three_users():
    rows = [("a", "buddy.milestone.reached", R), ("b", "buddy.match.created", R), ("c", "buddy.checkin.completed", R)]
    assert compute_vis(events(*rows), R)["percentile"].to_list() == [100.0, 66.67, 33.33]


def test_decay_off_gives_raw_points_and_lambda_zero_equals_decay_off():
    rows = [
        ("u", "buddy.feedback.submitted", R - timedelta(days=400)),
        ("u", "buddy.match.created", R - timedelta(days=3)),
    ]
    off = compute_vis(events(*rows), R, enable_decay=False).row(0, named=True)
    zero = compute_vis(events(*rows), R, decay_lambda=0.0).row(0, named=True)
    assert off["current_vis"] == 18.0 == zero["current_vis"]
    on = compute_vis(events(*rows), R).row(0, named=True)
    assert on["current_vis"] == round2_js(8 * math.exp(-4.0) + 10 * math.exp(-0.03))


@pytest.mark.parametrize("decay_lambda", [0.001, 0.01, 0.05, 0.5])
def test_lambda_variants_match_the_reference(decay_lambda):
    rows = [
        ("u", "buddy.skill_share.completed", R - timedelta(days=d, hours=h)) for d, h in ((1, 3), (30, 0), (200, 11))
    ]
    got = compute_vis(events(*rows), R, decay_lambda=decay_lambda)["current_vis"][0]
    assert got == reference_vis(rows, R, decay_lambda)["u"]["current_vis"]


def test_unknown_and_zero_point_types_count_for_presence_and_last_activity_only():
    late = R - timedelta(hours=1)
    rows = [
        ("u", "buddy.match.ended", late),
        ("u", "buddy.profile.viewed", R - timedelta(days=2)),
        ("v", "buddy.checkin.completed", R - timedelta(days=5)),
    ]
    result = {row["user_id"]: row for row in compute_vis(events(*rows), R).iter_rows(named=True)}
    assert result["u"]["current_vis"] == 0.0 and result["u"]["raw_points"] == 0
    assert all(result["u"][key] == 0 for key in BREAKDOWN_KEYS), "match.ended and unknown types are not counted"
    assert result["u"]["last_activity_date"] == late
    assert result["u"]["rank"] == 2, "a zero score still appears, ranked last"


def test_event_exactly_at_as_of_counts_with_weight_one_and_future_events_are_ignored():
    rows = [
        ("u", "buddy.milestone.reached", R),
        ("u", "buddy.milestone.reached", R + timedelta(microseconds=1)),
        ("future_only", "buddy.match.created", R + timedelta(days=1)),
    ]
    result = compute_vis(events(*rows), R)
    assert result["user_id"].to_list() == ["u"]
    assert result["current_vis"][0] == 20.0 and result["raw_points"][0] == 20


def test_null_user_ids_are_skipped():
    result = compute_vis(events((None, "buddy.match.created", R), ("u", "buddy.match.created", R)), R)
    assert result["user_id"].to_list() == ["u"]


def test_ties_are_broken_by_user_id_in_code_point_order():
    # "B" (0x42) sorts before "a" (0x61); locale-aware collation would put "a" first.
    rows = [(u, "buddy.match.created", R) for u in ("a", "B", "c")] + [("z", "buddy.milestone.reached", R)]
    result = compute_vis(events(*rows), R)
    assert result["user_id"].to_list() == ["z", "B", "a", "c"]
    assert result["rank"].to_list() == [1, 2, 3, 4]


def test_users_whose_sums_round_to_the_same_value_tie():
    state = pl.DataFrame(
        {
            "user_id": ["b", "a"],
            "decay_sum": [10.004, 10.0],
            "raw_points": [10, 10],
            **{k: [0, 0] for k in BREAKDOWN_KEYS},
            "last_activity_date": [R, R],
        }
    )
    assert rank_state(state)["user_id"].to_list() == ["a", "b"]


def test_rounding_at_half_cent_boundaries_is_javascript_math_round():
    state = pl.DataFrame(
        {
            "user_id": ["x", "y", "z"],
            "decay_sum": [2.675, 1.005, 0.125],
            "raw_points": [3, 1, 1],
            **{k: [0, 0, 0] for k in BREAKDOWN_KEYS},
            "last_activity_date": [R, R, R],
        }
    )
    ranked = {row["user_id"]: row["current_vis"] for row in rank_state(state).iter_rows(named=True)}
    # In doubles 2.675*100 == 267.5 (so 2.68, as the spec says) while 1.005*100 == 100.49999999999999 (so 1.0);
    # toFixed works on the exact binary value instead: 2.675 is stored as 2.674999999999999822….
    assert ranked == {"x": round2_js(2.675), "y": round2_js(1.005), "z": round2_js(0.125)}
    assert (round2_js(2.675), round2_js(1.005), round2_js(0.125)) == (2.68, 1.0, 0.13)
    assert str(fixed(2.675, 2)) == "2.67" and str(fixed(0.125, 2)) == "0.13"


def test_empty_input_gives_an_empty_frame_with_every_column():
    result = compute_vis(events(), R)
    assert result.height == 0
    assert {"user_id", "current_vis", "rank", "percentile", *BREAKDOWN_KEYS} <= set(result.columns)


def test_naive_as_of_is_rejected():
    with pytest.raises(ValueError, match="timezone-aware"):
        compute_vis(events(), datetime(2024, 1, 1))


@pytest.mark.parametrize("raw", ["-0.01", "nan", "inf", "abc", ""])
def test_vis_lambda_must_be_a_finite_non_negative_float(raw):
    if raw == "":
        assert DecayParams.from_env_values(raw, None).decay_lambda == 0.01
        return
    with pytest.raises(ConfigError, match="^VIS_LAMBDA: "):
        DecayParams.from_env_values(raw, None)


def test_decay_is_off_only_for_false():
    assert DecayParams.from_env_values(None, "FALSE").enable_decay is False
    assert DecayParams.from_env_values(None, "no").enable_decay is True
    assert DecayParams.from_env_values(None, None).enable_decay is True


def random_rows(seed: int, n: int, start: datetime, days: int) -> list[tuple]:
    rng = random.Random(seed)
    types = [*POINTS, "buddy.unknown"]
    users = [f"user-{i:03d}" for i in range(40)] + [None]
    return [
        (rng.choice(users), rng.choice(types), start + timedelta(microseconds=rng.randrange(days * 86_400_000_000)))
        for _ in range(n)
    ]


def test_full_compute_matches_the_naive_reference_on_random_data():
    start = R - timedelta(days=60)
    rows = random_rows(7, 3_000, start, 61)
    got = compute_vis(events(*rows), R)
    expected = reference_vis(rows, R)
    assert set(got["user_id"]) == set(expected)
    for row in got.iter_rows(named=True):
        ref = expected[row["user_id"]]
        assert (row["current_vis"], row["raw_points"], row["rank"], row["percentile"]) == (
            ref["current_vis"],
            ref["raw_points"],
            ref["rank"],
            ref["percentile"],
        ), row["user_id"]
        assert row["last_activity_date"] == ref["last"]
        assert all(row[k] == ref[k] for k in BREAKDOWN_KEYS)


@pytest.mark.parametrize("params", [DecayParams(0.01, True), DecayParams(0.2, True), DecayParams(0.01, False)])
def test_thirty_incremental_days_equal_the_full_recompute(params):
    day0 = datetime(2024, 3, 1, tzinfo=UTC)
    frame = events(*random_rows(11, 5_000, day0 - timedelta(days=90), 121))
    state = full_state(frame, day0, params)
    as_of = day0
    for _ in range(30):
        following = as_of + timedelta(days=1)
        state = advance_state(state, as_of, frame, following, params)
        as_of = following
    comparison = compare_incremental_with_full(rank_state(state), rank_state(full_state(frame, as_of, params)))
    assert comparison.passed, comparison
    assert comparison.max_decay_sum_relative_error < 1e-12


def test_comparison_reports_each_kind_of_difference():
    params = DecayParams()
    frame = events(("a", "buddy.match.created", R), ("b", "buddy.match.created", R))
    full = rank_state(full_state(frame, R, params))
    drifted = full.with_columns(
        pl.when(pl.col("user_id") == "a")
        .then(pl.col("decay_sum") * (1 + 1e-6))
        .otherwise(pl.col("decay_sum"))
        .alias("decay_sum")
    )
    result = compare_incremental_with_full(drifted.filter(pl.col("user_id") != "b"), full)
    assert not result.passed
    assert (result.users_only_full, result.mismatched_users, result.examples) == (1, 1, ["a"])


def test_raw_points_follow_from_the_breakdown_counts():
    """compute_vis derives raw_points from the six counts: every type that scores belongs to exactly one breakdown
    key, and every type of a key scores the same."""
    keyed = [event_type for types in BREAKDOWN_TYPES.values() for event_type in types]
    assert len(keyed) == len(set(keyed))
    assert all(POINTS[t] == POINTS_PER_KEY[key] for key, types in BREAKDOWN_TYPES.items() for t in types)
    assert all(points == 0 for event_type, points in POINTS.items() if event_type not in keyed)


def test_hash_collisions_are_caught_and_the_strings_decide(monkeypatch):
    """The fast path groups users and looks event types up by a 64-bit hash. With a key of one bit, users and event
    types collide everywhere; the check sums must notice, and the result must still be the reference's."""
    rows = random_rows(23, 2_000, R - timedelta(days=30), 31)
    frame = events(*rows)
    monkeypatch.setattr(vis, "_key", lambda values: values.hash(0) % 2)
    assert vis._hashed_contributions(frame["user_id"], vis._rows(frame, None, exact=False), R, DecayParams()) is None
    got = compute_vis(frame, R)
    expected = reference_vis(rows, R)
    assert got.height == len(expected)
    for row in got.iter_rows(named=True):
        ref = expected[row["user_id"]]
        assert (row["current_vis"], row["raw_points"], row["rank"]) == (
            ref["current_vis"],
            ref["raw_points"],
            ref["rank"],
        )
        assert all(row[k] == ref[k] for k in BREAKDOWN_KEYS)


@pytest.mark.parametrize("heavy", [2**vis._FIELD_BITS - 1, 2**vis._FIELD_BITS, 2**15 + 3])
def test_users_with_more_events_than_a_packed_count_holds_are_counted_exactly(heavy):
    """Breakdown counts travel packed in 10-bit fields; from 2^10 matches on, a field would carry into the next, so
    such users are counted again. Their neighbours' counts stay as packed."""
    types = ["buddy.match.created", "buddy.checkin.completed", "buddy.event.logged"]
    frame = pl.DataFrame(
        {
            "user_id": ["heavy"] * heavy + ["mixed"] * (2 * heavy) + ["light"],
            "event_type": ["buddy.match.created"] * heavy + types[1:] * heavy + ["buddy.event.attended"],
            "timestamp": [R] * (3 * heavy + 1),
        },
        schema={"user_id": pl.String, "event_type": pl.String, "timestamp": pl.Datetime("us", "UTC")},
    )
    rows = vis._rows(frame, None, exact=False)
    fast = vis._hashed_contributions(frame["user_id"], rows, R, DecayParams())
    assert fast is not None, "the fast path must not give up on heavy users"
    got = {row["user_id"]: row for row in compute_vis(frame, R).iter_rows(named=True)}
    assert (got["heavy"]["matches"], got["heavy"]["events"], got["heavy"]["raw_points"]) == (heavy, 0, 10 * heavy)
    assert (got["mixed"]["matches"], got["mixed"]["checkins"], got["mixed"]["events"]) == (0, heavy, heavy)
    assert got["mixed"]["raw_points"] == 8 * heavy
    assert (got["light"]["matches"], got["light"]["events"], got["light"]["current_vis"]) == (0, 1, 5.0)
    exact = vis._exact_contributions(vis._rows(frame, None, exact=True), R, DecayParams())
    assert fast.sort("user_id").equals(exact.sort("user_id"))


def test_unpack_reads_each_breakdown_key_from_its_own_field():
    fields = {key: 3 * index + 1 for index, key in enumerate(BREAKDOWN_KEYS)}
    packed = sum(count << (vis._FIELD_BITS * index) for index, count in enumerate(fields.values()))
    unpacked = vis._unpack(pl.DataFrame({"_packed": [packed]}))
    assert unpacked.row(0, named=True) == fields
