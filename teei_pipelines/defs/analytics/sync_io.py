"""The PostgreSQL → ClickHouse window sync (analytics.md §3-§5): keyset COPY pages → polars → Arrow → ClickHouse.

A range of windows is synced in one pass: the target's rows for the range are deleted (only when there are any:
ClickHouse's lightweight DELETE costs a scan of the table), then the PostgreSQL rows of the range are streamed in
keyset pages of SYNC_PAGE_SIZE. A reader thread keeps the next COPY running while the caller's thread parses,
maps and inserts the previous block, so PostgreSQL and ClickHouse work at the same time. Each inserted row carries
its own `_window_start`, so a range run leaves exactly what one run per window would.
"""

from __future__ import annotations

import io
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import sqlalchemy as sa

from teei_pipelines.domain import sync as rules
from teei_pipelines.pgio import copy_out, query, sql_body
from teei_pipelines.resources.clickhouse import ClickHouseResource

# Rows per ClickHouse insert: large blocks keep the number of parts (and merges) low.
INSERT_BLOCK_ROWS = 200_000
# ReplacingMergeTree collapses versions at merge and FINAL time, so per-insert dedup only costs time.
INSERT_SETTINGS = {"optimize_on_insert": 0}
_PAGE_DONE = object()


@dataclass(frozen=True)
class Stream:
    """One PostgreSQL query feeding a target: its keyset page query, its per-window count, and its mapping."""

    name: str
    change_column: str
    columns: dict[str, pl.DataType]  # the page query's CSV columns, in order (timestamptz text in UTC)
    mapping: Callable[[pl.DataFrame], pl.DataFrame]

    @property
    def page_query(self) -> str:
        return f"analytics/{self.name}_page"

    @property
    def counts_query(self) -> str:
        return f"analytics/{self.name}_window_counts"


@dataclass(frozen=True)
class SyncTarget:
    """A ClickHouse table filled from one or more streams (analytics.md §2)."""

    table: str
    identity: str
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
    pages: int = 0
    seconds: float = 0.0
    per_window: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=WINDOW_COUNTS_SCHEMA))

    @property
    def rows_per_second(self) -> float:
        return self.rows_read / self.seconds if self.seconds else 0.0


WINDOW_COUNTS_SCHEMA = {"window_start": pl.Datetime("us", "UTC"), "rows": pl.Int64}


# Arrow for ClickHouse ---------------------------------------------------------------------------------------------


def uuid_arrow(series: pl.Series) -> pa.Array:
    """PostgreSQL uuid text (nullable) as Arrow's uuid extension type, which ClickHouse reads straight into UUID."""
    raw = rules.uuid_bytes(series.fill_null(rules.NIL_UUID), validate=False)
    validity = None
    if series.null_count():
        validity = pa.py_buffer(np.packbits(series.is_not_null().to_numpy(), bitorder="little").tobytes())
    storage = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(16), len(series), [validity, pa.py_buffer(raw.tobytes())], null_count=series.null_count()
    )
    return pa.ExtensionArray.from_storage(pa.uuid(), storage)


def to_arrow(frame: pl.DataFrame, uuid_columns: tuple[str, ...]) -> pa.Table:
    table = frame.to_arrow()
    for name in uuid_columns:
        table = table.set_column(table.schema.get_field_index(name), name, uuid_arrow(frame[name]))
    return table


# PostgreSQL pages -------------------------------------------------------------------------------------------------


def _keyset_tail(page: bytes) -> tuple[str, str]:
    """The (change column, id) of a page's last row: the two unquoted fields that end the CSV."""
    change, identity = page.rstrip(b"\r\n").rsplit(b",", 2)[-2:]
    return change.decode(), identity.decode()


def iter_pages(connection: Any, stream: Stream, start: datetime, end: datetime, page_size: int) -> Iterator[bytes]:
    """CSV pages of the stream's rows with start ≤ change column < end, ordered by (change column, id)."""
    statement = f"COPY ({sql_body(stream.page_query)}) TO STDOUT WITH (FORMAT csv)"
    after_ts, after_id = (start - timedelta(microseconds=1)).isoformat(), rules.NIL_UUID
    with connection.cursor() as cursor:
        while True:
            params = {
                "window_start": start,
                "window_end": end,
                "after_ts": after_ts,
                "after_id": after_id,
                "page_size": page_size,
            }
            buffer = bytearray()
            with cursor.copy(statement, params) as copy:
                for chunk in copy:
                    buffer += chunk
            if not buffer:
                return
            after_ts, after_id = _keyset_tail(bytes(buffer[-200:]))
            yield bytes(buffer)


def _read_all(engine: sa.Engine, target: SyncTarget, start: datetime, end: datetime, page_size: int, out: queue.Queue):
    """Reader thread: one REPEATABLE READ snapshot, so every page of every stream sees the same data."""
    try:
        raw = engine.raw_connection()
        try:
            connection = raw.driver_connection
            connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            connection.execute("SET LOCAL TIME ZONE 'UTC'")
            for stream in target.streams:
                for page in iter_pages(connection, stream, start, end, page_size):
                    out.put((stream, page))
            connection.execute("COMMIT")
        finally:
            raw.close()
        out.put(_PAGE_DONE)
    except BaseException as exc:  # handed to the consumer, which re-raises it in the run's thread
        out.put(exc)


def parse_block(stream: Stream, pages: list[bytes]) -> pl.DataFrame:
    # Timestamps are read as text and parsed in one vectorized pass: faster than the CSV reader's own inference.
    timestamps = [name for name, dtype in stream.columns.items() if dtype == pl.Datetime]
    text_schema = {name: pl.String if name in timestamps else dtype for name, dtype in stream.columns.items()}
    frame = pl.read_csv(
        io.BytesIO(b"".join(pages)), has_header=False, new_columns=list(text_schema), schema=text_schema
    )
    return stream.mapping(frame.with_columns(rules.parse_timestamp(name) for name in timestamps))


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
    page_size: int,
) -> SyncReport:
    """Replace the windows [start, end) of `target` with the PostgreSQL rows whose change column is in them."""
    started = time.perf_counter()
    report = SyncReport(target.table, start, end)
    report.rows_replaced = replace_range_start(ch, target.table, start, end)
    pages: queue.Queue = queue.Queue(maxsize=max(4, 2 * INSERT_BLOCK_ROWS // page_size))
    reader = threading.Thread(
        target=_read_all, args=(engine, target, start, end, page_size, pages), name=f"sync-{target.table}", daemon=True
    )
    reader.start()
    counts: list[pl.DataFrame] = []
    pages_per_block = max(1, INSERT_BLOCK_ROWS // page_size)
    pending: list[bytes] = []
    pending_stream: Stream | None = None

    def flush() -> None:
        nonlocal pending
        if not pending or pending_stream is None:
            return
        rows = parse_block(pending_stream, pending)
        ch.client.insert_arrow(ch.table(target.table), to_arrow(rows, target.uuid_columns), settings=INSERT_SETTINGS)
        report.rows_read += rows.height
        report.rows_written += rows.height
        counts.append(rows.group_by("_window_start").len("rows").rename({"_window_start": "window_start"}))
        pending = []

    try:
        while True:
            item = pages.get()
            if item is _PAGE_DONE:
                break
            if isinstance(item, BaseException):
                raise item
            stream, page = item
            if stream is not pending_stream or len(pending) >= pages_per_block:
                flush()
                pending_stream = stream
            pending.append(page)
            report.pages += 1
        flush()
    finally:
        _drain(pages, reader)
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


def _drain(pages: queue.Queue, reader: threading.Thread) -> None:
    """Unblock and join the reader after a failure, so no connection outlives the run."""
    while reader.is_alive():
        try:
            pages.get(timeout=0.1)
        except queue.Empty:
            continue
    reader.join()


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
    ch.client.insert_arrow(ch.table("sync_status"), frame.to_arrow())
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


def ch_window_counts(ch: ClickHouseResource, table: str, start: datetime, end: datetime) -> pl.DataFrame:
    result = ch.client.query(query("analytics/ch_window_counts"), parameters=_window_params(ch, table, start, end))
    frame = pl.DataFrame(result.result_rows, schema={"window_start": pl.Datetime("us"), "rows": pl.Int64}, orient="row")
    return frame.with_columns(pl.col("window_start").dt.replace_time_zone("UTC"))


def reconcile(
    engine: sa.Engine, ch: ClickHouseResource, target: SyncTarget, start: datetime, end: datetime
) -> Reconciliation:
    """PostgreSQL rows per window = ClickHouse FINAL rows per window, and no identity twice (analytics.md §4)."""
    pg = pg_window_counts(engine, target, start, end).rename({"rows": "pg_rows"})
    chc = ch_window_counts(ch, target.table, start, end).rename({"rows": "ch_rows"})
    both = pg.join(chc, on="window_start", how="full", coalesce=True).with_columns(
        pl.col("pg_rows").fill_null(0), pl.col("ch_rows").fill_null(0)
    )
    mismatched = both.filter(pl.col("pg_rows") != pl.col("ch_rows")).sort("window_start")
    duplicates = ch.client.query(
        query("analytics/ch_duplicate_ids"),
        parameters={**_window_params(ch, target.table, start, end), "key": target.identity},
    ).result_rows[0][0]
    windows = int((end - start) / rules.WINDOW)
    return Reconciliation(windows, mismatched, int(duplicates))


# companies, full refresh (analytics.md §5) -------------------------------------------------------------------------

COMPANY_COLUMNS = {
    "id": pl.String,
    "name": pl.String,
    "industry": pl.String,
    "country": pl.String,
    "employee_count": pl.Int64,
    "created_at": pl.String,
}


@dataclass(frozen=True)
class CompaniesReport:
    rows: int
    pruned_versions_before: int
    pg_count: int
    ch_count: int


def sync_companies(engine: sa.Engine, ch: ClickHouseResource, version: int) -> CompaniesReport:
    """Insert every company at `version`, then delete older versions: ClickHouse mirrors PostgreSQL, deletes too."""
    with engine.begin() as connection:
        connection.execute(sa.text("SET LOCAL TIME ZONE 'UTC'"))
        raw = copy_out(connection, "analytics/companies_all", {}, COMPANY_COLUMNS)
        pg_count = int(connection.execute(sa.text(query("analytics/companies_count"))).scalar_one())
    frame = rules.companies_rows(raw.with_columns(rules.parse_timestamp("created_at")), version)
    if frame.height:
        ch.client.insert_arrow(ch.table("companies_ch"), to_arrow(frame, ("id",)), settings=INSERT_SETTINGS)
    ch.client.command(query("analytics/ch_companies_prune"), parameters={"db": ch.database, "version": version})
    ch_count = int(
        ch.client.query(query("analytics/ch_companies_count"), parameters={"db": ch.database}).result_rows[0][0]
    )
    return CompaniesReport(frame.height, version, pg_count, ch_count)
