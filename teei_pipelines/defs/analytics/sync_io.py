"""The PostgreSQL → ClickHouse window sync (analytics.md §3-§5): COPY as Arrow → polars → Arrow → ClickHouse.

A range of windows is synced in one pass: the target's rows for the range are deleted (only when there are any:
ClickHouse's lightweight DELETE costs a scan of the table), then the PostgreSQL rows of the range are streamed
through ADBC, which decodes PostgreSQL's binary COPY straight into Arrow batches (UUIDs stay 16 bytes, timestamps
stay microseconds, numeric arrives as exact decimal text; no keyset round trips). Reader threads (two for a range,
sharing one exported snapshot) keep batches coming while the caller's thread maps and inserts blocks of about
SYNC_INSERT_BLOCK_ROWS (`rules.insert_blocks`), so PostgreSQL and ClickHouse work at the same time. Each inserted
row carries its own `_window_start`, so a range run leaves exactly what one run per window would.
"""

from __future__ import annotations

import itertools
import queue
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from teei_pipelines.domain import sync as rules
from teei_pipelines.pgio import arrow_connection, literal_sql, plain_arrow, query, sql_body
from teei_pipelines.resources.clickhouse import ClickHouseResource

# Rows per ClickHouse insert (SYNC_INSERT_BLOCK_ROWS): large blocks keep the number of parts (and merges) low.
INSERT_BLOCK_ROWS = 200_000
# ReplacingMergeTree collapses versions at merge and FINAL time, so per-insert dedup only costs time.
INSERT_SETTINGS = {"optimize_on_insert": 0}
_READER_DONE = object()
# PostgreSQL readers per range run: measured on 2 cores streaming 2M rows, one reader takes 5.9 s, two 3.4 s, three
# 3.7 s (reads alone); whole loads with two and three readers take the same 3.6-4.1 s (measured alternating). A single
# window is never split.
READERS = 2


@dataclass(frozen=True)
class Stream:
    """One PostgreSQL query feeding a target: its range query, its per-window count, and its mapping."""

    name: str
    change_column: str
    mapping: Callable[[pl.DataFrame], pl.DataFrame]
    # numeric columns arrive as exact decimal text; they are cast to the ClickHouse column's Decimal
    decimals: dict[str, pl.Decimal] = field(default_factory=dict)

    @property
    def range_query(self) -> str:
        return f"analytics/{self.name}_range"

    @property
    def counts_query(self) -> str:
        return f"analytics/{self.name}_window_counts"


@dataclass(frozen=True)
class SyncTarget:
    """A ClickHouse table filled from one or more streams (analytics.md §2)."""

    table: str
    identity: str
    sorting_key: tuple[str, ...]  # the table's ORDER BY (at most four columns), which holds the identity
    streams: tuple[Stream, ...]
    uuid_columns: tuple[str, ...]


@dataclass
class SyncReport:
    table: str
    range_start: datetime
    range_end: datetime
    rows_read: int = 0
    rows_written: int = 0
    rows_replaced: int = 0
    batches: int = 0
    inserts: int = 0
    seconds: float = 0.0
    per_window: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=WINDOW_COUNTS_SCHEMA))

    @property
    def rows_per_second(self) -> float:
        return self.rows_read / self.seconds if self.seconds else 0.0


WINDOW_COUNTS_SCHEMA = {"window_start": pl.Datetime("us", "UTC"), "rows": pl.Int64}


# Arrow in and out -----------------------------------------------------------------------------------------------


def uuid_arrow(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    """16-byte binary UUIDs (nullable) as Arrow's uuid extension type, which ClickHouse reads straight into UUID."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    return pa.ExtensionArray.from_storage(pa.uuid(), pc.cast(column, pa.binary(16)))


def to_arrow(frame: pl.DataFrame, uuid_columns: tuple[str, ...]) -> pa.Table:
    """The frame as Arrow without copying its strings: polars' string and binary views pass as Arrow views (half
    the conversion time of large_string; ClickHouseResource.insert_arrow converts them for a ClickHouse server)."""
    table = frame.to_arrow(compat_level=pl.CompatLevel.newest())
    for name in uuid_columns:
        index = table.schema.get_field_index(name)
        table = table.set_column(index, name, uuid_arrow(table.column(index)))
    return table


def to_frame(stream: Stream, tables: list[pa.Table]) -> pl.DataFrame:
    """A block of Arrow batches as the stream's ClickHouse rows."""
    frame = pl.from_arrow(plain_arrow(pa.concat_tables(tables)))
    assert isinstance(frame, pl.DataFrame)
    return stream.mapping(frame.with_columns(pl.col(name).cast(dtype) for name, dtype in stream.decimals.items()))


# PostgreSQL batches -----------------------------------------------------------------------------------------------


def iter_batches(cursor: Any, stream: Stream, start: datetime, end: datetime) -> Iterator[pa.Table]:
    """Arrow batches of the stream's rows with start ≤ change column < end, as ADBC decodes the COPY stream."""
    cursor.execute(literal_sql(stream.range_query, range_start=start, range_end=end))
    for batch in cursor.fetch_record_batch():
        if batch.num_rows:
            yield pa.Table.from_batches([batch])


_SNAPSHOT_ID = re.compile(r"^[0-9A-F]+-[0-9A-F]+-[0-9]+$")


def split_range(start: datetime, end: datetime, parts: int) -> list[tuple[datetime, datetime]]:
    """[start, end) cut at window boundaries into up to `parts` contiguous sub-ranges, one per reader."""
    windows = int((end - start) / rules.WINDOW)
    parts = max(1, min(parts, windows))
    cuts = [start + rules.WINDOW * (windows * index // parts) for index in range(parts)] + [end]
    return list(itertools.pairwise(cuts))


def _read(
    engine: sa.Engine,
    snapshot: str | None,
    target: SyncTarget,
    start: datetime,
    end: datetime,
    out: queue.Queue,
) -> None:
    """Reader thread: batches of every stream for [start, end) in the run's shared snapshot."""
    try:
        with arrow_connection(engine) as connection, connection.cursor() as cursor:
            cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            if snapshot is not None:
                # the id was produced by pg_export_snapshot() and checked against its format: not client input
                cursor.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
            for stream in target.streams:
                for batch in iter_batches(cursor, stream, start, end):
                    out.put((stream, batch))
            cursor.execute("COMMIT")
        out.put(_READER_DONE)
    except BaseException as exc:  # handed to the consumer, which re-raises it in the run's thread
        out.put(exc)


@contextmanager
def shared_snapshot(engine: sa.Engine, readers: int) -> Iterator[str | None]:
    """An exported snapshot (as pg_dump --jobs does), so parallel readers see one consistent database; a single
    reader needs none (its own REPEATABLE READ transaction is the snapshot)."""
    if readers == 1:
        yield None
        return
    with arrow_connection(engine) as connection, connection.cursor() as cursor:
        cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        cursor.execute("SELECT pg_export_snapshot()")
        snapshot = str(cursor.fetchone()[0])
        if not _SNAPSHOT_ID.match(snapshot):
            raise RuntimeError(f"unexpected snapshot id {snapshot!r}")
        try:
            yield snapshot
        finally:
            cursor.execute("COMMIT")


# ClickHouse writes ------------------------------------------------------------------------------------------------


def _window_params(ch: ClickHouseResource, table: str, start: datetime, end: datetime) -> dict[str, Any]:
    return {"db": ch.database, "table": table, "start": start, "end": end}


def replace_range_start(ch: ClickHouseResource, table: str, start: datetime, end: datetime) -> int:
    """Delete the target's rows in the windows [start, end); returns how many there were."""
    params = _window_params(ch, table, start, end)
    existing = int(ch.client.query(query("analytics/ch_window_rows"), parameters=params).result_rows[0][0])
    if existing:
        ch.client.command(query("analytics/ch_window_delete"), parameters=params)
    return existing


def sync_range(
    engine: sa.Engine,
    ch: ClickHouseResource,
    target: SyncTarget,
    start: datetime,
    end: datetime,
    block_rows: int = INSERT_BLOCK_ROWS,
    readers: int = READERS,
) -> SyncReport:
    """Replace the windows [start, end) of `target` with the PostgreSQL rows whose change column is in them."""
    started = time.perf_counter()
    report = SyncReport(target.table, start, end)
    report.rows_replaced = replace_range_start(ch, target.table, start, end)
    batches: queue.Queue = queue.Queue(maxsize=4)
    counts: list[pl.DataFrame] = []
    pending: dict[str, list[pa.Table]] = {stream.name: [] for stream in target.streams}
    streams = {stream.name: stream for stream in target.streams}

    def flush(name: str) -> None:
        if not pending[name]:
            return
        rows = to_frame(streams[name], pending[name])
        for offset, length in rules.insert_blocks(rows.height, block_rows):
            block = to_arrow(rows.slice(offset, length), target.uuid_columns)
            ch.insert_arrow(ch.table(target.table), block, settings=INSERT_SETTINGS)
            report.inserts += 1
        report.rows_read += rows.height
        report.rows_written += rows.height
        counts.append(rows.group_by("_window_start").len("rows").rename({"_window_start": "window_start"}))
        pending[name] = []

    parts = split_range(start, end, readers)
    threads: list[threading.Thread] = []
    try:
        with shared_snapshot(engine, len(parts)) as snapshot:
            for index, (part_start, part_end) in enumerate(parts):
                thread = threading.Thread(
                    target=_read,
                    args=(engine, snapshot, target, part_start, part_end, batches),
                    name=f"sync-{target.table}-{index}",
                    daemon=True,
                )
                thread.start()
                threads.append(thread)
            running = len(threads)
            while running:
                item = batches.get()
                if item is _READER_DONE:
                    running -= 1
                    continue
                if isinstance(item, BaseException):
                    raise item
                stream, batch = item
                pending[stream.name].append(batch)
                report.batches += 1
                if sum(table.num_rows for table in pending[stream.name]) >= block_rows:
                    flush(stream.name)
            for name in pending:
                flush(name)
    finally:
        _drain(batches, threads)
    if counts:
        report.per_window = (
            pl.concat(counts)
            .group_by("window_start")
            .agg(pl.col("rows").sum().cast(pl.Int64))
            .with_columns(pl.col("window_start").dt.cast_time_unit("us"))
            .sort("window_start")
        )
    report.seconds = time.perf_counter() - started
    return report


def _drain(batches: queue.Queue, threads: list[threading.Thread]) -> None:
    """Unblock and join the readers after a failure, so no connection outlives the run."""
    while any(thread.is_alive() for thread in threads):
        try:
            batches.get(timeout=0.1)
        except queue.Empty:
            continue
    for thread in threads:
        thread.join()


def record_sync_status(ch: ClickHouseResource, report: SyncReport, run_id: str) -> int:
    """One sync_status row per window of the range (analytics.md §3.4), empty windows included."""
    windows = pl.datetime_range(
        report.range_start, report.range_end, rules.WINDOW, closed="left", time_unit="us", eager=True
    ).alias("window_start")
    frame = (
        windows.to_frame()
        .join(report.per_window, on="window_start", how="left")
        .select(
            pl.lit(report.table).alias("table_name"),
            pl.col("window_start"),
            (pl.col("window_start") + rules.WINDOW).alias("window_end"),
            pl.col("rows").fill_null(0).cast(pl.UInt64).alias("rows_read"),
            pl.col("rows").fill_null(0).cast(pl.UInt64).alias("rows_written"),
            pl.lit(run_id).alias("run_id"),
            pl.lit(datetime.now(tz=report.range_start.tzinfo)).dt.cast_time_unit("ms").alias("synced_at"),
        )
    )
    ch.insert_arrow(ch.table("sync_status"), frame.to_arrow())
    return frame.height


# Reconciliation (analytics.md §4) ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reconciliation:
    windows: int
    mismatched: pl.DataFrame  # window_start, pg_rows, ch_rows
    duplicate_ids: int

    @property
    def passed(self) -> bool:
        return self.mismatched.height == 0 and self.duplicate_ids == 0


def pg_window_counts(engine: sa.Engine, target: SyncTarget, start: datetime, end: datetime) -> pl.DataFrame:
    frames = []
    with engine.connect() as connection:
        for stream in target.streams:
            rows = connection.execute(
                sa.text(query(stream.counts_query)), {"range_start": start, "range_end": end}
            ).all()
            frames.append(pl.DataFrame(rows, schema=WINDOW_COUNTS_SCHEMA, orient="row"))
    return pl.concat(frames).group_by("window_start").agg(pl.col("rows").sum())


def ch_window_counts(
    ch: ClickHouseResource, target: SyncTarget, start: datetime, end: datetime
) -> tuple[pl.DataFrame, int]:
    """Rows per window after dedup, and identities stored under more than one sorting key (duplicates)."""
    padded = (*target.sorting_key, *(target.identity,) * (4 - len(target.sorting_key)))
    params = {
        **_window_params(ch, target.table, start, end),
        "key": target.identity,
        **{f"k{index + 1}": column for index, column in enumerate(padded)},
    }
    result = ch.client.query(query("analytics/ch_window_reconcile"), parameters=params).result_rows
    frame = pl.DataFrame(result, schema={"window_start": pl.Datetime("us"), "rows": pl.Int64}, orient="row")
    duplicates = ch.client.query(query("analytics/ch_duplicate_ids"), parameters=params).result_rows[0][0]
    return frame.with_columns(pl.col("window_start").dt.replace_time_zone("UTC")), int(duplicates)


def reconcile(
    engine: sa.Engine, ch: ClickHouseResource, target: SyncTarget, start: datetime, end: datetime
) -> Reconciliation:
    """PostgreSQL rows per window = ClickHouse rows per window after dedup, and no identity twice (analytics.md §4)."""
    pg = pg_window_counts(engine, target, start, end).rename({"rows": "pg_rows"})
    counts, duplicates = ch_window_counts(ch, target, start, end)
    chc = counts.rename({"rows": "ch_rows"})
    both = pg.join(chc, on="window_start", how="full", coalesce=True).with_columns(
        pl.col("pg_rows").fill_null(0), pl.col("ch_rows").fill_null(0)
    )
    mismatched = both.filter(pl.col("pg_rows") != pl.col("ch_rows")).sort("window_start")
    windows = int((end - start) / rules.WINDOW)
    return Reconciliation(windows, mismatched, duplicates)


# companies, full refresh (analytics.md §5) -------------------------------------------------------------------------


@dataclass(frozen=True)
class CompaniesReport:
    rows: int
    pruned_versions_before: int
    pg_count: int
    ch_count: int


def sync_companies(engine: sa.Engine, ch: ClickHouseResource, version: int) -> CompaniesReport:
    """Insert every company at `version`, then delete older versions: ClickHouse mirrors PostgreSQL, deletes too."""
    with arrow_connection(engine) as connection, connection.cursor() as cursor:
        cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        cursor.execute(sql_body("analytics/companies_all"))
        companies = pl.from_arrow(plain_arrow(cursor.fetch_arrow_table()))
        cursor.execute(sql_body("analytics/companies_count"))
        pg_count = int(cursor.fetchone()[0])
        cursor.execute("COMMIT")
    assert isinstance(companies, pl.DataFrame)
    frame = rules.companies_rows(companies, version)
    if frame.height:
        ch.insert_arrow(ch.table("companies_ch"), to_arrow(frame, ("id",)), settings=INSERT_SETTINGS)
    ch.client.command(query("analytics/ch_companies_prune"), parameters={"db": ch.database, "version": version})
    ch_count = int(
        ch.client.query(query("analytics/ch_companies_count"), parameters={"db": ch.database}).result_rows[0][0]
    )
    return CompaniesReport(frame.height, version, pg_count, ch_count)
