"""Reading and writing VIS partitions in PostgreSQL, and the range computation behind `impact/vis_scores_daily`.

A range of days is computed in one pass: the first day starts from the stored previous day (incremental) or from
every event (full); each following day advances the state with only that day's events (vis.md §6). Each day is
written in its own transaction (delete + insert), so a re-run replaces exactly that day; the days of a range are
written on two connections at once (`DayWriter`).
"""

from __future__ import annotations

import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Literal

import polars as pl
import sqlalchemy as sa

from teei_pipelines.domain.vis import (
    BREAKDOWN_KEYS,
    EVENT_SCHEMA,
    STATE_SCHEMA,
    Comparison,
    DecayParams,
    advance_state,
    compare_incremental_with_full,
    full_state,
    rank_state,
)
from teei_pipelines.pgio import copy_in, query, read_frame, statements

Mode = Literal["auto", "full", "incremental"]
EPOCH_FLOOR = datetime(1, 1, 1, tzinfo=UTC)


class IncrementalUnavailableError(RuntimeError):
    """mode=incremental was requested but vis.md §6's preconditions do not hold."""


def day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def as_of(day: date) -> datetime:
    """vis.md §2: partition D is computed as of (D + 1 day) 00:00:00Z."""
    return day_start(day) + timedelta(days=1)


def read_events(engine: sa.Engine, after: datetime | None, until: datetime) -> pl.DataFrame:
    frame = read_frame(engine, "impact/vis_events", after=after or EPOCH_FLOOR, until=until)
    return frame.cast(EVENT_SCHEMA)


def read_state(engine: sa.Engine, day: date) -> pl.DataFrame:
    return read_frame(engine, "impact/vis_state", partition_date=day).cast(STATE_SCHEMA)


@dataclass(frozen=True)
class StoredPartition:
    decay_lambda: float
    decay_enabled: bool
    calculated_at: datetime
    users: int


def stored_partition(connection: sa.Connection, day: date) -> StoredPartition | None:
    rows = connection.execute(sa.text(query("impact/vis_partition_run")), {"partition_date": day}).all()
    if len(rows) != 1:
        return None
    decay_lambda, decay_enabled, calculated_at, users = rows[0]
    return StoredPartition(decay_lambda, decay_enabled, calculated_at, users)


def incremental_blocker(connection: sa.Connection, previous_day: date, params: DecayParams) -> str | None:
    """Why day D cannot start from D−1's stored state (vis.md §6 "auto"), or None when it can."""
    previous = stored_partition(connection, previous_day)
    if previous is None:
        return f"partition {previous_day} is not in vis_scores_daily"
    if previous.decay_lambda != params.decay_lambda or previous.decay_enabled != params.enable_decay:
        return (
            f"partition {previous_day} was computed with lambda={previous.decay_lambda}, "
            f"decay_enabled={previous.decay_enabled}"
        )
    late = connection.execute(
        sa.text(query("impact/vis_late_events")),
        {"calculated_at": previous.calculated_at, "as_of": as_of(previous_day)},
    ).scalar_one()
    if late:
        return f"late events arrived for partition {previous_day} after it was computed"
    return None


def read_profile_links(engine: sa.Engine) -> pl.DataFrame:
    """user_id → profile_id (text) for every user_id that resolves (vis.md §5); users.id and (provider, external_id)
    are unique, so each user_id appears once."""
    return read_frame(engine, "impact/vis_profile_links").cast({"user_id": pl.String, "profile_id": pl.String})


def write_day(
    connection: sa.Connection,
    day: date,
    scores: pl.DataFrame,
    profile_links: pl.DataFrame,
    params: DecayParams,
    method: str,
) -> None:
    """Replace partition `day` of vis_scores_daily with `scores` (the caller owns the transaction)."""
    stage = scores.join(profile_links, on="user_id", how="left", validate="m:1").select(
        "user_id",
        "profile_id",
        "current_vis",
        "raw_points",
        "decay_adjusted_points",
        "decay_sum",
        *BREAKDOWN_KEYS,
        pl.col("last_activity_date").dt.epoch("us").alias("last_activity_us"),
        "rank",
        "percentile",
    )
    connection.execute(sa.text(query("impact/vis_stage_create")))
    copy_in(connection, "vis_stage", stage)
    replace_params = {
        "partition_date": day,
        "as_of": as_of(day),
        "lambda": params.decay_lambda,
        "decay_enabled": params.enable_decay,
        "method": method,
    }
    for statement in statements("impact/vis_daily_replace"):
        connection.execute(statement, replace_params)


# Writing dominates a range: one day of seed scale 100 (57k users) takes ~1.3 s to write and ~0.1 s to compute, and
# nearly all of the write is the PostgreSQL backend's per-row work (btree inserts, jsonb, WAL) on one core.
RANGE_WRITE_CONNECTIONS = 2


class DayWriter:
    """Writes the days of a range on up to `connections` connections at once, each day in its own transaction.

    Days are independent rows, so their order of commit does not matter. At most `connections` days are being
    written at once; `write` blocks until one of them finishes, so a range never holds more than that many days'
    scores in memory. The first failed write is raised (by `write`, or on leaving the `with` block once every
    started write has ended), and days not yet started are then not written.
    """

    def __init__(self, engine: sa.Engine, profile_links: pl.DataFrame, params: DecayParams, connections: int) -> None:
        self._engine = engine
        self._profile_links = profile_links
        self._params = params
        self._connections = connections
        self._executor = ThreadPoolExecutor(max_workers=connections, thread_name_prefix="vis-write")
        self._running: set[Future[None]] = set()

    def __enter__(self) -> DayWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, traceback: object) -> None:
        # After a failure, days still queued are dropped; otherwise every queued day is written before leaving.
        self._executor.shutdown(wait=True, cancel_futures=exc_type is not None)
        if exc_type is None:
            for future in self._running:
                future.result()

    def write(self, day: date, scores: pl.DataFrame, method: str) -> None:
        while len(self._running) >= self._connections:
            finished, self._running = wait(self._running, return_when=FIRST_COMPLETED)
            for future in finished:
                future.result()
        self._running.add(self._executor.submit(self._write, day, scores, method))

    def _write(self, day: date, scores: pl.DataFrame, method: str) -> None:
        with self._engine.begin() as connection:
            write_day(connection, day, scores, self._profile_links, self._params, method)


@dataclass
class DayResult:
    day: date
    method: str
    users: int
    new_events: int


@dataclass
class RangeResult:
    days: list[DayResult] = field(default_factory=list)
    events_read: int = 0
    seconds: float = 0.0
    last_scores: pl.DataFrame | None = None
    last_incremental_day: date | None = None
    fallback_reason: str | None = None


def compute_range(
    engine: sa.Engine,
    days: list[date],
    params: DecayParams,
    mode: Mode = "auto",
    write_connections: int = RANGE_WRITE_CONNECTIONS,
) -> RangeResult:
    """Compute and store every day of `days` (consecutive, ascending)."""
    started = time.perf_counter()
    result = RangeResult()
    with DayWriter(engine, read_profile_links(engine), params, write_connections) as writer:
        _compute_days(engine, days, params, mode, writer, result)
    result.seconds = time.perf_counter() - started
    return result


def _compute_days(
    engine: sa.Engine, days: list[date], params: DecayParams, mode: Mode, writer: DayWriter, result: RangeResult
) -> None:
    """compute_range's work: each day's scores go to `writer`, what was done is recorded in `result`."""
    first, last = days[0], days[-1]
    with engine.connect() as connection:
        reason = None if mode == "full" else incremental_blocker(connection, first - timedelta(days=1), params)
    if mode == "incremental" and reason is not None:
        raise IncrementalUnavailableError(f"mode=incremental for {first}: {reason}; run with mode=full")
    if mode == "auto" and reason is not None:
        result.fallback_reason = reason
    if reason is None and mode != "full":
        state = read_state(engine, first - timedelta(days=1))
        state_as_of = as_of(first - timedelta(days=1))
        pending_days = days
    else:
        base_events = read_events(engine, None, as_of(first))
        result.events_read += base_events.height
        state = full_state(base_events, as_of(first), params)
        state_as_of = as_of(first)
        pending_days = days[1:]
        result.last_scores = rank_state(state)
        writer.write(first, result.last_scores, "full")
        result.days.append(DayResult(first, "full", state.height, base_events.height))
    if pending_days:
        window = read_events(engine, state_as_of, as_of(last))
        result.events_read += window.height
    else:
        window = pl.DataFrame(schema=EVENT_SCHEMA)
    # An event at exactly midnight belongs to the day before (ts <= as_of), hence the −1 µs.
    by_day = window.with_columns(
        (pl.col("timestamp") - pl.duration(microseconds=1)).dt.date().alias("_day")
    ).partition_by("_day", as_dict=True, include_key=False)
    for day in pending_days:
        day_events = by_day.get((day,), window.clear())
        state = advance_state(state, state_as_of, day_events, as_of(day), params)
        state_as_of = as_of(day)
        result.last_scores = rank_state(state)
        writer.write(day, result.last_scores, "incremental")
        result.days.append(DayResult(day, "incremental", state.height, day_events.height))
        result.last_incremental_day = day


def verify_incremental(
    engine: sa.Engine, day: date, incremental_scores: pl.DataFrame, params: DecayParams
) -> Comparison:
    """vis.md §6: recompute `day` in full from every event and compare with the incremental result."""
    events = read_events(engine, None, as_of(day))
    full_scores = rank_state(full_state(events, as_of(day), params))
    return compare_incremental_with_full(incremental_scores, full_scores)


def latest_partition(connection: sa.Connection) -> date | None:
    return connection.execute(sa.text(query("impact/vis_latest_partition"))).scalar_one()


def refresh_vis_scores(engine: sa.Engine, day: date) -> int:
    """Copy partition `day` into vis_scores (one transaction). Returns the rows now in vis_scores."""
    with engine.begin() as connection:
        for statement in statements("impact/vis_scores_refresh"):
            connection.execute(statement, {"partition_date": day})
        return connection.execute(sa.text("SELECT count(*) FROM vis_scores")).scalar_one()
