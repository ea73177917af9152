"""PostgreSQL → ClickHouse sync rules (analytics.md §1-§5): windows, row mappings, and a vectorized uuid5.

Pure functions over polars frames and datetimes; the I/O lives in `teei_pipelines.defs.analytics.sync_io`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

WINDOW = timedelta(minutes=15)
NIL_UUID = bytes(16)  # UUIDs travel as 16-byte Binary from PostgreSQL (ADBC) to ClickHouse (Arrow uuid)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# windows ----------------------------------------------------------------------------------------------------------


def window_floor(moment: datetime) -> datetime:
    """The start of the 15-minute window holding `moment` (UTC)."""
    moment = moment.astimezone(UTC)
    return moment.replace(minute=moment.minute - moment.minute % 15, second=0, microsecond=0)


def latest_complete_window(now: datetime, lag: timedelta) -> datetime:
    """Start of the newest window that ended at least `lag` before `now` (analytics.md §1)."""
    return window_floor(now - lag) - WINDOW


def windows_covering(start: datetime, end: datetime) -> list[datetime]:
    """Starts of every window overlapping [start, end); a manual sync of a range syncs all of them."""
    if end <= start:
        raise ValueError(f"the range is empty: {start.isoformat()} is not before {end.isoformat()}")
    first = window_floor(start)
    count = -(-(end - first) // WINDOW)
    return [first + WINDOW * index for index in range(count)]


def manual_sync_windows(
    start: datetime | None, end: datetime | None, now: datetime, lag: timedelta, first: datetime
) -> list[datetime]:
    """The windows a manual sync (POST /v1/analytics/sync {from?, to?}) covers: the latest complete window when no
    range is given, else every complete window overlapping [from, to). Raises ValueError with a client message."""
    latest = latest_complete_window(now, lag)
    if start is None and end is None:
        return [latest]
    if start is None or end is None:
        raise ValueError("give both 'from' and 'to', or neither")
    for name, value in (("from", start), ("to", end)):
        if value.tzinfo is None:
            raise ValueError(f"'{name}' must carry a UTC offset, e.g. 2026-03-10T10:00:00Z")
    windows = [w for w in windows_covering(start, end) if first <= w <= latest]
    if not windows:
        raise ValueError(
            f"no complete window overlaps [{start.isoformat()}, {end.isoformat()}): windows run from "
            f"{first.isoformat()} to {latest.isoformat()}"
        )
    return windows


def insert_blocks(rows: int, block_rows: int) -> list[tuple[int, int]]:
    """(offset, length) of the ClickHouse inserts for `rows` pending rows: as many blocks as `block_rows` fits best
    (at least one), of equal size. The rows pending at a flush are at least `block_rows` plus whatever the last Arrow
    batch brought; cutting them at `block_rows` would insert that excess as a tiny block of its own, one more part for
    ClickHouse to merge."""
    if rows <= 0:
        return []
    count = max(1, round(rows / block_rows))
    size = -(-rows // count)
    return [(offset, min(size, rows - offset)) for offset in range(0, rows, size)]


def finops_days(from_date: str, to_date: str, today: date, first: date, max_days: int = 366) -> list[date]:
    """The days a manual FinOps aggregation (POST /v1/analytics/finops/aggregate) covers, validated: ISO dates,
    from ≤ to, complete days only (before today, UTC), within the partitions, at most `max_days`."""
    days = []
    for name, value in (("fromDate", from_date), ("toDate", to_date)):
        try:
            days.append(date.fromisoformat(value))
        except (TypeError, ValueError):
            raise ValueError(f"{name}: {value!r} is not a YYYY-MM-DD date") from None
    start, end = days
    if start > end:
        raise ValueError(f"fromDate {start} is after toDate {end}")
    if end >= today:
        raise ValueError(f"toDate {end} is not a complete day yet (today is {today} UTC)")
    if start < first:
        raise ValueError(f"fromDate {start} is before the first partition {first}")
    count = (end - start).days + 1
    if count > max_days:
        raise ValueError(f"{count} days requested; at most {max_days} per request")
    return [start + timedelta(days=offset) for offset in range(count)]


def day_windows(day: date) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return start, start + timedelta(days=1)


# column helpers ---------------------------------------------------------------------------------------------------


def epoch_micros(column: str) -> pl.Expr:
    """A UTC timestamp as integer microseconds since the epoch: the RMT `_version` (analytics.md §3)."""
    return pl.col(column).dt.epoch("us").cast(pl.UInt64)


def window_start_of(column: str) -> pl.Expr:
    """`_window_start`: the start of the 15-minute window holding the change column, exactly as the filter sees it."""
    return pl.col(column).dt.truncate("15m").alias("_window_start")


def nil_if_null(column: str) -> pl.Expr:
    return pl.col(column).fill_null(pl.lit(NIL_UUID, dtype=pl.Binary))


def decimal_text_as_float32(column: str) -> pl.Expr:
    """A numeric value read as its exact decimal text (as ADBC decodes numeric) as Float32: parsed to the nearest
    double, as PostgreSQL's ::float8 gives, then Float32 as ClickHouse's toFloat32 gives (analytics.md §2: Float32
    of the decimal)."""
    return pl.col(column).cast(pl.Float64).cast(pl.Float32).alias(column)


# uuid5, vectorized ------------------------------------------------------------------------------------------------

_H0 = np.array([0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0], dtype=np.uint32)


def _rotl(x: np.ndarray, n: int) -> np.ndarray:
    return (x << np.uint32(n)) | (x >> np.uint32(32 - n))


def _sha1_single_block(messages: np.ndarray) -> np.ndarray:
    """SHA-1 of N equal-length messages shorter than 56 bytes, as an (N, 20) uint8 array, over numpy lanes."""
    n, length = messages.shape
    block = np.zeros((n, 64), dtype=np.uint8)
    block[:, :length] = messages
    block[:, length] = 0x80
    block[:, 56:] = np.frombuffer((length * 8).to_bytes(8, "big"), dtype=np.uint8)
    w = [block[:, 4 * i : 4 * i + 4].copy().view(">u4").reshape(n).astype(np.uint32) for i in range(16)]
    for i in range(16, 80):
        w.append(_rotl(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1))
    a, b, c, d, e = (np.full(n, h, dtype=np.uint32) for h in _H0)
    with np.errstate(over="ignore"):
        for i in range(80):
            if i < 20:
                f, k = (b & c) | (~b & d), 0x5A827999
            elif i < 40:
                f, k = b ^ c ^ d, 0x6ED9EBA1
            elif i < 60:
                f, k = (b & c) | (b & d) | (c & d), 0x8F1BBCDC
            else:
                f, k = b ^ c ^ d, 0xCA62C1D6
            temp = _rotl(a, 5) + f + e + np.uint32(k) + w[i]
            a, b, c, d, e = temp, a, _rotl(b, 30), c, d
        digest = np.stack([a + _H0[0], b + _H0[1], c + _H0[2], d + _H0[3], e + _H0[4]], axis=1)
    return digest.astype(">u4").view(np.uint8).reshape(n, 20)


def binary16(uuids: pl.Series) -> np.ndarray:
    """16-byte Binary UUIDs (no NULLs) as an (N, 16) uint8 array, read from one Arrow buffer."""
    array = uuids.to_arrow()
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    fixed = pc.cast(array, pa.binary(16))
    values = np.frombuffer(fixed.buffers()[1], dtype=np.uint8) if len(fixed) else np.zeros(0, dtype=np.uint8)
    return values[fixed.offset * 16 : (fixed.offset + len(fixed)) * 16].reshape(-1, 16)


def uuid_text(uuids: pl.Series) -> pl.Series:
    """16-byte Binary UUIDs as canonical 8-4-4-4-12 text."""
    hexed = uuids.bin.encode("hex")
    parts = [hexed.str.slice(offset, size) for offset, size in ((0, 8), (8, 4), (12, 4), (16, 4), (20, 12))]
    return pl.select(pl.concat_str(parts, separator="-").alias(uuids.name)).to_series()


def uuid5_series(namespaces: pl.Series, name: str) -> pl.Series:
    """uuid.uuid5(namespace, name) for every 16-byte Binary UUID in `namespaces` (RFC 4122 §4.3), as Binary,
    hashed over numpy lanes instead of a row loop."""
    if namespaces.len() == 0:
        return pl.Series(namespaces.name, [], dtype=pl.Binary)
    ns_bytes = binary16(namespaces)
    name_bytes = np.frombuffer(name.encode(), dtype=np.uint8)
    messages = np.hstack([ns_bytes, np.broadcast_to(name_bytes, (ns_bytes.shape[0], name_bytes.size))])
    digest = _sha1_single_block(messages)[:, :16].copy()
    digest[:, 6] = (digest[:, 6] & 0x0F) | 0x50  # version 5
    digest[:, 8] = (digest[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
    array = pa.FixedSizeBinaryArray.from_buffers(pa.binary(16), len(digest), [None, pa.py_buffer(digest.tobytes())])
    return pl.Series(namespaces.name, array).cast(pl.Binary)


# row mappings (analytics.md §2, §5) -------------------------------------------------------------------------------


def outcome_scores_rows(frame: pl.DataFrame) -> pl.DataFrame:
    """outcome_scores → outcome_scores_ch: nil UUIDs for NULL ids, '' for NULL text, 0 for NULL confidence.
    score and confidence arrive as decimal text (outcome_scores_range.sql)."""
    return frame.select(
        pl.col("id"),
        nil_if_null("user_id"),
        nil_if_null("company_id"),
        pl.col("text_id"),
        pl.col("text_type").fill_null(""),
        pl.col("dimension"),
        decimal_text_as_float32("score"),
        decimal_text_as_float32("confidence").fill_null(0.0),
        pl.col("model_version").fill_null(""),
        pl.col("created_at"),
        window_start_of("created_at"),
        epoch_micros("created_at").alias("_version"),
    )


def enrolled_event_rows(frame: pl.DataFrame) -> pl.DataFrame:
    """An `enrolled` event per enrollment, keyed by the enrollment id, metadata {"status": status at sync time}."""
    return frame.select(
        pl.col("id"),
        pl.col("user_id"),
        nil_if_null("company_id"),
        pl.lit("enrolled").alias("event_type"),
        pl.col("program_type"),
        pl.col("enrolled_at").alias("event_timestamp"),
        pl.struct(pl.col("status")).struct.json_encode().alias("metadata"),
        window_start_of("enrolled_at"),
        epoch_micros("enrolled_at").alias("_version"),
    )


def completed_event_rows(frame: pl.DataFrame) -> pl.DataFrame:
    """A `program_completed` event per completion, id = uuid5(enrollment id, "completed") (analytics.md §2)."""
    return frame.select(
        uuid5_series(frame["id"], "completed").alias("id"),
        pl.col("user_id"),
        nil_if_null("company_id"),
        pl.lit("program_completed").alias("event_type"),
        pl.col("program_type"),
        pl.col("completed_at").alias("event_timestamp"),
        pl.struct(enrollment_id=uuid_text(frame["id"])).struct.json_encode().alias("metadata"),
        window_start_of("completed_at"),
        epoch_micros("completed_at").alias("_version"),
    )


def copied_rows(frame: pl.DataFrame, change_column: str) -> pl.DataFrame:
    """vis_scores and campaign_metrics_snapshots: column for column, plus the window and version."""
    return frame.with_columns(window_start_of(change_column), epoch_micros(change_column).alias("_version"))


def vis_scores_rows(frame: pl.DataFrame) -> pl.DataFrame:
    """vis_scores → vis_scores_ch, keyed by user_id (the PostgreSQL id only served the keyset)."""
    return (
        copied_rows(frame, "calculated_at")
        .drop("id")
        .with_columns(pl.col("raw_points").cast(pl.UInt32), pl.col("rank").cast(pl.UInt32))
    )


def campaign_snapshot_rows(frame: pl.DataFrame) -> pl.DataFrame:
    return copied_rows(frame, "updated_at")


def employee_size(employee_count: pl.Expr) -> pl.Expr:
    """NULL → unknown, < 50 → small, 50-249 → medium, ≥ 250 → large (analytics.md §5)."""
    return (
        pl.when(employee_count.is_null())
        .then(pl.lit("unknown"))
        .when(employee_count < 50)
        .then(pl.lit("small"))
        .when(employee_count < 250)
        .then(pl.lit("medium"))
        .otherwise(pl.lit("large"))
    )


def companies_rows(frame: pl.DataFrame, version: int) -> pl.DataFrame:
    return frame.select(
        pl.col("id"),
        pl.col("name"),
        pl.col("industry").fill_null(""),
        pl.col("country").fill_null(""),
        employee_size(pl.col("employee_count")).alias("employee_size"),
        pl.col("created_at"),
        pl.lit(version, dtype=pl.UInt64).alias("_version"),
    )


def version_of(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)
