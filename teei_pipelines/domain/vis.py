"""Volunteer Impact Score (vis.md §1-§6): points × exponential time decay, ranked per partition. Pure polars.

Everything is vectorised: grouping, decay, ranking and rounding happen in polars expressions; there is no
Python loop over events or users. Two paths produce the same scores:

- `compute_vis(events, as_of)`: the full recompute over every event at or before as_of;
- `advance_state(state, new_events, as_of)`: the incremental step. Because decay is multiplicative,
  S(R') = S(R)·e^(−λ·(R'−R)) + Σ points·e^(−λ·(R'−ts)) over the events with R < ts ≤ R'.

A *state* frame holds the unrounded per-user sums (STATE_COLUMNS); `rank_state` turns a state into the
published scores (rounded VIS, rank, percentile).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import polars as pl

from teei_pipelines.domain.rounding import ieee_divide, js_math_round_expr, round2_js_expr
from teei_pipelines.errors import ConfigError

POINTS: dict[str, int] = {
    "buddy.match.created": 10,
    "buddy.match.ended": 0,
    "buddy.event.attended": 5,
    "buddy.event.logged": 5,
    "buddy.skill_share.completed": 15,
    "buddy.feedback.submitted": 8,
    "buddy.milestone.reached": 20,
    "buddy.checkin.completed": 3,
}
BREAKDOWN_TYPES: dict[str, tuple[str, ...]] = {
    "matches": ("buddy.match.created",),
    "events": ("buddy.event.attended", "buddy.event.logged"),
    "skill_shares": ("buddy.skill_share.completed",),
    "feedback": ("buddy.feedback.submitted",),
    "milestones": ("buddy.milestone.reached",),
    "checkins": ("buddy.checkin.completed",),
}
BREAKDOWN_KEYS: tuple[str, ...] = tuple(BREAKDOWN_TYPES)
MICROSECONDS_PER_DAY = 86_400_000_000
DEFAULT_LAMBDA = 0.01

_FIXED_POINT = float(2**40)
STATE_COLUMNS: tuple[str, ...] = ("user_id", "decay_sum", "raw_points", *BREAKDOWN_KEYS, "last_activity_date")
SCORE_COLUMNS: tuple[str, ...] = (
    "user_id",
    "current_vis",
    "raw_points",
    "decay_adjusted_points",
    "decay_sum",
    *BREAKDOWN_KEYS,
    "last_activity_date",
    "rank",
    "percentile",
)
EVENT_SCHEMA = {"user_id": pl.String, "event_type": pl.String, "timestamp": pl.Datetime("us", "UTC")}
STATE_SCHEMA = {
    "user_id": pl.String,
    "decay_sum": pl.Float64,
    "raw_points": pl.Int64,
    **dict.fromkeys(BREAKDOWN_KEYS, pl.Int64),
    "last_activity_date": pl.Datetime("us", "UTC"),
}


@dataclass(frozen=True)
class DecayParams:
    """vis.md §1: VIS_LAMBDA (finite float ≥ 0) and VIS_ENABLE_DECAY (off only for 'false')."""

    decay_lambda: float = DEFAULT_LAMBDA
    enable_decay: bool = True

    def __post_init__(self) -> None:
        validate_lambda(self.decay_lambda)

    @classmethod
    def from_env_values(cls, lambda_raw: str | None, decay_raw: str | None) -> DecayParams:
        raw = DEFAULT_LAMBDA if lambda_raw is None or lambda_raw.strip() == "" else lambda_raw
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError("VIS_LAMBDA", f"{lambda_raw!r} is not a number (expected a finite float ≥ 0)") from None
        validate_lambda(value, variable="VIS_LAMBDA")
        enable = decay_raw is None or decay_raw.strip().lower() != "false"
        return cls(value, enable)

    @property
    def daily_factor(self) -> float:
        return math.exp(-self.decay_lambda) if self.enable_decay else 1.0


def validate_lambda(value: float, variable: str = "decay_lambda") -> None:
    if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise ConfigError(variable, f"{value!r} is not a finite float ≥ 0")


def empty_state() -> pl.DataFrame:
    return pl.DataFrame(schema=STATE_SCHEMA)


def _normalise_events(events: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    normal = all(events.collect_schema().get(name) == dtype for name, dtype in EVENT_SCHEMA.items())
    if isinstance(events, pl.DataFrame) and normal:
        # Already normal: keep the columns as they are. Re-collecting them would split them into the streaming
        # engine's chunks, and gathering the users' ids from 200 chunks takes 8× as long (0.16 s at 1M users).
        return events.select(list(EVENT_SCHEMA))
    frame = events.lazy() if isinstance(events, pl.DataFrame) else events
    return frame.select(
        pl.col("user_id").cast(pl.String),
        pl.col("event_type").cast(pl.String),
        pl.col("timestamp").dt.convert_time_zone("UTC").dt.cast_time_unit("us"),
    ).collect()


# Event types as small integer codes: string work happens once per event, the rest is integer arithmetic.
_TYPE_CODES: dict[str, int] = {event_type: code for code, event_type in enumerate(POINTS)}
_UNKNOWN_CODE = len(_TYPE_CODES)
# points per type code, the unknown code last (0 points)
_POINTS_BY_CODE: list[int] = [*POINTS.values(), 0]
# The six breakdown counts travel packed in one Int64 sum of 10-bit fields, and the group-by counts each user's
# events with `len`: one aggregation instead of seven, which matters because each aggregation over 1M groups costs
# ~0.25 s at 20M events. A field can only overflow for a user with 2^10 or more events in all; `_recount_heavy` counts
# those users' events again, one sum per key, from their own events.
_FIELD_BITS = 10
_KEY_CODES: dict[str, list[int]] = {key: [_TYPE_CODES[t] for t in types] for key, types in BREAKDOWN_TYPES.items()}
_PACKED_INCREMENTS: list[int] = [0] * (_UNKNOWN_CODE + 1)
for _field, _breakdown_key in enumerate(BREAKDOWN_KEYS):
    for _code in _KEY_CODES[_breakdown_key]:
        _PACKED_INCREMENTS[_code] += 1 << (_FIELD_BITS * _field)
# raw_points is a linear function of the breakdown counts (every type with points belongs to exactly one key), so the
# group-by does not sum points separately.
# (test_vis holds this true for the points table).
POINTS_PER_KEY: dict[str, int] = {key: POINTS[types[0]] for key, types in BREAKDOWN_TYPES.items()}


def _by_code(values: list[int], dtype: pl.DataType) -> pl.Expr:
    """values[_code] per event: a gather from a 9-entry table, not a hash lookup per event."""
    return pl.lit(pl.Series(values, dtype=dtype)).gather(pl.col("_code"))


# The fast path works on 64-bit hashes instead of strings. Hashing 20M short strings costs ~0.05 s; comparing them
# costs more: a string-keyed group-by takes ~0.8 s longer than a u64-keyed one, and a string lookup of the event type
# ~0.4 s longer than eight u64 comparisons. Two different strings can share a hash, so every run verifies its
# grouping with a second, independently seeded hash (`_verified`) and redoes the work on the strings themselves when
# the check fails. The check is a sum: Σ over events of check(string) must equal Σ over the groups found of
# (events in group) × check(the group's string). A merged pair of strings breaks that equality unless their 32-bit
# check hashes also collide, ~2^-32 on top of the 64-bit collision itself.
_KEY_SEED = 0
_CHECK_SEED = 0x5EED


def _key(values: pl.Expr) -> pl.Expr:
    return values.hash(_KEY_SEED)


def _check(values: pl.Expr) -> pl.Expr:
    """32 bits, so sums over up to 2^32 events stay exact in u64."""
    return values.hash(_CHECK_SEED) % (1 << 32)


def _type_code(exact: bool) -> pl.Expr:
    event_type = pl.col("event_type")
    if exact:
        return event_type.replace_strict(_TYPE_CODES, default=_UNKNOWN_CODE, return_dtype=pl.UInt8)
    known = pl.Series(list(_TYPE_CODES)).to_frame("event_type").select(_key(event_type)).to_series().to_list()
    key = _key(event_type)
    code = pl.when(key == known[0]).then(pl.lit(0, pl.UInt8))
    for index, value in enumerate(known[1:], start=1):
        code = code.when(key == value).then(pl.lit(index, pl.UInt8))
    return code.otherwise(pl.lit(_UNKNOWN_CODE, pl.UInt8))


def _per_event_columns(events: pl.LazyFrame, reference: datetime, params: DecayParams) -> pl.LazyFrame:
    if params.enable_decay and params.decay_lambda > 0:
        age_us = (pl.lit(reference).dt.cast_time_unit("us") - pl.col("timestamp")).dt.total_microseconds()
        weight = (age_us.cast(pl.Float64) / float(MICROSECONDS_PER_DAY) * -params.decay_lambda).exp()
    else:
        weight = pl.lit(1.0)
    return (
        events.with_columns(
            _by_code(_POINTS_BY_CODE, pl.Int32).alias("_points"),
            _by_code(_PACKED_INCREMENTS, pl.Int64).alias("_packed"),
        )
        # Each decayed value in fixed point (units of 2^-40, ~1e-12): integer sums do not depend on the order in which
        # polars' threads add them up, so a re-run yields the identical decay_sum (float sums can differ in the last
        # bit). 2^-40 resolution keeps the sum within 1e-9 relative of the float sum; int64 holds sums up to 8e6.
        .with_columns(
            (pl.col("_points").cast(pl.Float64) * weight * _FIXED_POINT).round().cast(pl.Int64).alias("_decayed")
        )
    )


_COMMON_SUMS = (
    (pl.col("_decayed").sum().cast(pl.Float64) / _FIXED_POINT).alias("decay_sum"),
    pl.col("timestamp").max().alias("last_activity_date"),
)
_RAW_POINTS = pl.sum_horizontal(pl.col(key) * points for key, points in POINTS_PER_KEY.items()).alias("raw_points")


def _contributions(
    events: pl.DataFrame, window: pl.Expr | None, reference: datetime, params: DecayParams
) -> pl.DataFrame:
    """Per-user sums of the events' points (those matching `window`, or all), each decayed to `reference`.

    Every per-event value is computed as a plain column first, so the group-by runs only plain sums, a min and a
    max, which polars evaluates on its fast path.
    """
    hashed = _hashed_contributions(events["user_id"], _rows(events, window, exact=False), reference, params)
    if hashed is not None:
        return hashed
    return _exact_contributions(_rows(events, window, exact=True), reference, params)


def _rows(events: pl.DataFrame, window: pl.Expr | None, exact: bool) -> pl.LazyFrame:
    """The events (matching `window`, or all) with their row number and type code. The code is computed once and
    kept (one byte per event), because both queries of the hashed path read it. It is computed through the lazy
    engine: evaluated eagerly, the eight-way when/then chain takes ten times as long."""
    code = events.lazy().select(_type_code(exact).alias("_code")).collect().to_series()
    rows = events.with_columns(code).lazy().with_row_index("_row")
    return rows.filter(window) if window is not None else rows


def _hashed_contributions(
    user_ids: pl.Series, rows: pl.LazyFrame, reference: datetime, params: DecayParams
) -> pl.DataFrame | None:
    """The fast path: users grouped by hash, each group's user_id gathered from its first row. None when the
    verification fails."""
    grouped_query = (
        _per_event_columns(rows, reference, params)
        .group_by(_key(pl.col("user_id")).alias("_key"))
        .agg(pl.col("_row").min(), *_COMMON_SUMS, pl.col("_packed").sum(), pl.len().alias("_events"))
    )
    checks_query = rows.select(
        _check(pl.col("user_id")).sum().alias("users"),
        _check(pl.col("event_type")).filter(pl.col("_code") != _UNKNOWN_CODE).sum().alias("types"),
        *[(pl.col("_code") == code).sum().alias(f"code{code}") for code in range(_UNKNOWN_CODE)],
    )
    grouped, checks_frame = pl.collect_all([grouped_query, checks_query])
    checks = checks_frame.row(0, named=True)
    grouped = _recount_heavy(_unpack(grouped), rows)
    grouped = grouped.with_columns(user_ids.gather(grouped["_row"]))
    if not _verified(grouped, checks):
        return None
    return grouped.with_columns(_RAW_POINTS).select(STATE_COLUMNS)


def _unpack(grouped: pl.DataFrame) -> pl.DataFrame:
    """The six breakdown counts out of the packed sum. Exact for every user with fewer than 2^10 events: no field
    can then reach 2^10 and carry into the next."""
    mask = (1 << _FIELD_BITS) - 1
    return grouped.with_columns(
        ((pl.col("_packed") // (1 << (_FIELD_BITS * field))) & mask).alias(key)
        for field, key in enumerate(BREAKDOWN_KEYS)
    ).drop("_packed")


def _key_counts() -> list[pl.Expr]:
    return [pl.col("_code").is_in(_KEY_CODES[key]).sum().cast(pl.Int64).alias(key) for key in BREAKDOWN_KEYS]


def _recount_heavy(grouped: pl.DataFrame, rows: pl.LazyFrame) -> pl.DataFrame:
    """The breakdown counts of users with 2^10 or more events, whose packed fields may have overflowed, counted
    again one sum per key from those users' events."""
    heavy = grouped.filter(pl.col("_events") >= 1 << _FIELD_BITS)["_key"]
    if heavy.is_empty():
        return grouped
    recounted = (
        rows.with_columns(_key(pl.col("user_id")).alias("_key"))
        .filter(pl.col("_key").is_in(heavy.implode()))
        .group_by("_key")
        .agg(_key_counts())
        .collect()
    )
    return grouped.update(recounted, on="_key")


def _verified(grouped: pl.DataFrame, checks: dict[str, int]) -> bool:
    """The check sums of the hashed grouping (see _KEY_SEED) agree with those of the events."""
    users = grouped.select((_check(pl.col("user_id")) * pl.col("_events").cast(pl.UInt64)).sum()).item()
    names = pl.Series("event_type", list(_TYPE_CODES)).to_frame().select(_check(pl.col("event_type"))).to_series()
    types = sum(value * checks[f"code{code}"] for code, value in enumerate(names.to_list()))
    return users == (checks["users"] or 0) and types == (checks["types"] or 0)


def _exact_contributions(rows: pl.LazyFrame, reference: datetime, params: DecayParams) -> pl.DataFrame:
    """The reference path: group by the user_id strings, look event types up by string, one sum per key."""
    return (
        _per_event_columns(rows, reference, params)
        .group_by("user_id")
        .agg(*_COMMON_SUMS, *_key_counts())
        .with_columns(_RAW_POINTS)
        .select(STATE_COLUMNS)
        .collect()
    )


def _in_window(after: datetime | None, until: datetime) -> pl.Expr:
    """Events with a user and after < timestamp ≤ until (vis.md §1: an event exactly at as_of counts)."""
    condition = pl.col("user_id").is_not_null() & (pl.col("timestamp") <= pl.lit(until))
    if after is not None:
        condition = condition & (pl.col("timestamp") > pl.lit(after))
    return condition


def full_state(events: pl.DataFrame | pl.LazyFrame, as_of: datetime, params: DecayParams) -> pl.DataFrame:
    """The unrounded state as of `as_of`, from every event at or before it."""
    normalised = _normalise_events(events)
    # Filtering copies the surviving strings; skip it when a cheap scan shows every row already qualifies.
    window = _in_window(None, as_of)
    needs_filter = not normalised.select(window.all()).item()
    return _contributions(normalised, window if needs_filter else None, as_of, params)


def advance_state(
    state: pl.DataFrame,
    previous_as_of: datetime,
    new_events: pl.DataFrame | pl.LazyFrame,
    as_of: datetime,
    params: DecayParams,
) -> pl.DataFrame:
    """The state as of `as_of` from the state as of `previous_as_of` plus the events in (previous_as_of, as_of]."""
    if as_of < previous_as_of:
        raise ValueError("as_of must not precede previous_as_of")
    elapsed_days = (as_of - previous_as_of) / timedelta(days=1)
    factor = math.exp(-params.decay_lambda * elapsed_days) if params.enable_decay else 1.0
    window = _in_window(previous_as_of, as_of)
    added = _contributions(_normalise_events(new_events), window, as_of, params).lazy()
    carried = state.lazy().select(STATE_COLUMNS)
    joined = carried.join(added, on="user_id", how="full", coalesce=True, suffix="_new")
    sums = [
        (pl.col(c).fill_null(0) + pl.col(f"{c}_new").fill_null(0)).alias(c) for c in ("raw_points", *BREAKDOWN_KEYS)
    ]
    return (
        joined.select(
            "user_id",
            (pl.col("decay_sum").fill_null(0.0) * factor + pl.col("decay_sum_new").fill_null(0.0)).alias("decay_sum"),
            *sums,
            pl.max_horizontal("last_activity_date", "last_activity_date_new").alias("last_activity_date"),
        )
        .select(STATE_COLUMNS)
        .collect()
    )


def rank_state(state: pl.DataFrame) -> pl.DataFrame:
    """Round, rank and percentile (vis.md §3-§4): sort by rounded VIS desc, then user_id in code-point order."""
    n = state.height
    current_vis = round2_js_expr(pl.col("decay_sum")).alias("current_vis")
    ranked = (
        state.lazy()
        .with_columns(current_vis)
        # user_id is unique per state, so the two keys order every row: no stable sort needed.
        .sort(["current_vis", "user_id"], descending=[True, False])
        .with_row_index("position")
        .with_columns(
            (pl.col("position") + 1).cast(pl.Int64).alias("rank"),
            # Math.round((N − i) / N × 10000) / 100, in doubles and in that order (vis.md §4).
            ieee_divide(
                js_math_round_expr(ieee_divide(pl.lit(float(n)) - pl.col("position"), float(max(n, 1))) * 10_000.0),
                100.0,
            ).alias("percentile"),
            pl.col("current_vis").alias("decay_adjusted_points"),
        )
    )
    return ranked.select(SCORE_COLUMNS).collect()


def compute_vis(
    events: pl.DataFrame,
    as_of: datetime,
    *,
    decay_lambda: float = DEFAULT_LAMBDA,
    enable_decay: bool = True,
) -> pl.DataFrame:
    """VIS per user as of `as_of`: one row per user with at least one event at or before it (vis.md §3-§4)."""
    if as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware (UTC)")
    params = DecayParams(decay_lambda, enable_decay)
    return rank_state(full_state(events, as_of, params))


def as_of_for(partition_day: datetime) -> datetime:
    """vis.md §2: partition D is computed as of (D + 1 day) 00:00:00Z."""
    return partition_day + timedelta(days=1)


@dataclass(frozen=True)
class Comparison:
    passed: bool
    users_only_incremental: int
    users_only_full: int
    mismatched_users: int
    max_decay_sum_relative_error: float
    examples: list[str]


def compare_incremental_with_full(incremental: pl.DataFrame, full: pl.DataFrame, tolerance: float = 1e-9) -> Comparison:
    """vis.md §6: equal user sets; equal raw_points, breakdown, last activity and current_vis per user; decay_sum
    within tolerance × max(1, full value)."""
    exact = ["raw_points", *BREAKDOWN_KEYS, "last_activity_date", "current_vis"]
    joined = incremental.select("user_id", "decay_sum", *exact).join(
        full.select("user_id", "decay_sum", *exact), on="user_id", how="full", coalesce=True, suffix="_full"
    )
    only_incremental = joined.filter(pl.col("decay_sum_full").is_null()).height
    only_full = joined.filter(pl.col("decay_sum").is_null()).height
    both = joined.filter(pl.col("decay_sum").is_not_null() & pl.col("decay_sum_full").is_not_null())
    relative = (pl.col("decay_sum") - pl.col("decay_sum_full")).abs() / pl.max_horizontal(
        pl.lit(1.0), pl.col("decay_sum_full").abs()
    )
    differs = pl.any_horizontal([pl.col(c) != pl.col(f"{c}_full") for c in exact]) | (relative > tolerance)
    checked = both.with_columns(relative.alias("relative_error"), differs.alias("differs"))
    mismatched = checked.filter(pl.col("differs"))
    max_error = float(checked["relative_error"].max() or 0.0) if checked.height else 0.0
    return Comparison(
        passed=only_incremental == 0 and only_full == 0 and mismatched.height == 0,
        users_only_incremental=only_incremental,
        users_only_full=only_full,
        mismatched_users=mismatched.height,
        max_decay_sum_relative_error=max_error,
        examples=mismatched["user_id"].head(5).to_list(),
    )
