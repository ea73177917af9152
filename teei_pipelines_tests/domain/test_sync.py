"""Sync rules without I/O: window arithmetic, the vectorized uuid5 against Python's uuid module, UUID decoding,
and the row mappings of analytics.md §2 and §5."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from teei_pipelines.domain import sync as rules

T = datetime(2026, 3, 10, 10, 7, 31, 123456, tzinfo=UTC)


def test_window_floor_and_latest_complete_window_respect_the_lag():
    assert rules.window_floor(T) == datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
    # tick at 10:15 with a 5-minute lag: [10:00, 10:15) ended after 10:10, so [09:45, 10:00) is the newest
    tick = datetime(2026, 3, 10, 10, 15, tzinfo=UTC)
    assert rules.latest_complete_window(tick, timedelta(minutes=5)) == datetime(2026, 3, 10, 9, 45, tzinfo=UTC)
    assert rules.latest_complete_window(tick, timedelta(0)) == datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
    assert rules.latest_complete_window(tick + timedelta(minutes=5), timedelta(minutes=5)) == datetime(
        2026, 3, 10, 10, 0, tzinfo=UTC
    )


def test_windows_covering_a_range_include_partial_windows_at_both_ends():
    start = datetime(2026, 3, 10, 9, 50, tzinfo=UTC)
    windows = rules.windows_covering(start, datetime(2026, 3, 10, 10, 16, tzinfo=UTC))
    assert [w.strftime("%H:%M") for w in windows] == ["09:45", "10:00", "10:15"]
    assert len(rules.windows_covering(*rules.day_windows(T.date()))) == 96
    with pytest.raises(ValueError, match="empty"):
        rules.windows_covering(start, start)


def uuids(values: list[uuid.UUID | None]) -> pl.Series:
    return pl.Series("id", [None if value is None else value.bytes for value in values], dtype=pl.Binary)


def test_uuid5_series_equals_python_uuid5_for_many_namespaces():
    ids = [uuid.uuid4() for _ in range(2_000)] + [uuid.UUID(int=0), uuid.UUID(int=2**128 - 1)]
    got = rules.uuid5_series(uuids(ids), "completed").to_list()
    assert got == [uuid.uuid5(value, "completed").bytes for value in ids]
    other = rules.uuid5_series(uuids(ids[:3]), "enrolled").to_list()
    assert other == [uuid.uuid5(value, "enrolled").bytes for value in ids[:3]]
    assert rules.uuid5_series(uuids([]), "completed").len() == 0
    # a slice starts at an offset inside the Arrow buffer: the hash must read the right bytes
    assert rules.uuid5_series(uuids(ids)[5:8], "completed").to_list() == [
        uuid.uuid5(value, "completed").bytes for value in ids[5:8]
    ]


def test_uuid_text_is_the_canonical_form():
    ids = [uuid.uuid4() for _ in range(50)]
    assert rules.uuid_text(uuids(ids)).to_list() == [str(value) for value in ids]


def test_outcome_scores_mapping_fills_nulls_and_keeps_microseconds():
    frame = pl.DataFrame(
        {
            "id": [uuid.uuid4().bytes],
            "user_id": [None],
            "company_id": [None],
            "text_id": [uuid.uuid4().bytes],
            "text_type": [None],
            "dimension": ["confidence"],
            "score": ["0.125"],
            "confidence": [None],
            "model_version": [None],
            "created_at": [T],
        },
        schema_overrides={"user_id": pl.Binary, "company_id": pl.Binary, "confidence": pl.String},
    )
    row = rules.outcome_scores_rows(frame).row(0, named=True)
    assert row["user_id"] == row["company_id"] == rules.NIL_UUID
    assert (row["text_type"], row["model_version"], row["score"], row["confidence"]) == ("", "", 0.125, 0.0)
    assert row["created_at"] == T
    assert row["_window_start"] == datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
    assert row["_version"] == rules.version_of(T) == int(T.timestamp()) * 1_000_000 + 123456


def test_completed_event_has_uuid5_id_and_enrollment_metadata():
    enrollment = uuid.uuid4()
    frame = pl.DataFrame(
        {
            "id": [enrollment.bytes],
            "user_id": [uuid.uuid4().bytes],
            "company_id": [None],
            "program_type": ["buddy"],
            "completed_at": [T],
        },
        schema_overrides={"company_id": pl.Binary},
    )
    row = rules.completed_event_rows(frame).row(0, named=True)
    assert row["id"] == uuid.uuid5(enrollment, "completed").bytes
    assert row["event_type"] == "program_completed"
    assert json.loads(row["metadata"]) == {"enrollment_id": str(enrollment)}
    assert row["company_id"] == rules.NIL_UUID


def test_enrolled_event_metadata_is_json_with_the_status():
    frame = pl.DataFrame(
        {
            "id": [uuid.uuid4().bytes],
            "user_id": [uuid.uuid4().bytes],
            "company_id": [uuid.uuid4().bytes],
            "program_type": ["mentorship"],
            "status": ['dropped "x"'],
            "enrolled_at": [T],
        }
    )
    row = rules.enrolled_event_rows(frame).row(0, named=True)
    assert json.loads(row["metadata"]) == {"status": 'dropped "x"'}
    assert row["event_type"] == "enrolled" and row["id"] == frame["id"][0]


@pytest.mark.parametrize(
    ("count", "size"), [(None, "unknown"), (0, "small"), (49, "small"), (50, "medium"), (249, "medium"), (250, "large")]
)
def test_employee_size_bands(count, size):
    frame = pl.DataFrame({"n": [count]}, schema={"n": pl.Int64})
    assert frame.select(rules.employee_size(pl.col("n"))).item() == size


NOW = datetime(2026, 3, 10, 10, 20, tzinfo=UTC)
FIRST = datetime(2025, 1, 1, tzinfo=UTC)


def test_manual_sync_without_a_range_syncs_the_latest_complete_window():
    assert rules.manual_sync_windows(None, None, NOW, timedelta(minutes=5), FIRST) == [
        datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
    ]


def test_manual_sync_of_a_range_covers_every_overlapping_complete_window():
    start = datetime(2026, 3, 10, 9, 40, tzinfo=UTC)
    windows = rules.manual_sync_windows(start, NOW + timedelta(hours=1), NOW, timedelta(minutes=5), FIRST)
    assert [w.strftime("%H:%M") for w in windows] == ["09:30", "09:45", "10:00"]  # not the incomplete 10:15


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (datetime(2026, 3, 10, 9, 0, tzinfo=UTC), None, "both"),
        (datetime(2026, 3, 10, 9, 0), datetime(2026, 3, 10, 10, 0), "UTC offset"),
        (datetime(2026, 3, 10, 10, 0, tzinfo=UTC), datetime(2026, 3, 10, 9, 0, tzinfo=UTC), "empty"),
        (datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC), "no complete window"),
    ],
)
def test_manual_sync_rejects_bad_ranges_with_a_message(start, end, message):
    with pytest.raises(ValueError, match=message):
        rules.manual_sync_windows(start, end, NOW, timedelta(minutes=5), FIRST)


def test_finops_days_validates_and_lists_each_day():
    today, first = date(2026, 3, 10), date(2025, 1, 1)
    assert rules.finops_days("2026-03-07", "2026-03-09", today, first) == [
        date(2026, 3, 7),
        date(2026, 3, 8),
        date(2026, 3, 9),
    ]
    for from_date, to_date, message in [
        ("2026-3-7", "2026-03-09", "fromDate"),
        ("2026-03-07", "tomorrow", "toDate"),
        ("2026-03-09", "2026-03-07", "after"),
        ("2026-03-07", "2026-03-10", "not a complete day"),
        ("2024-12-31", "2025-01-02", "before the first partition"),
        ("2025-01-01", "2026-03-09", "at most 366"),
    ]:
        with pytest.raises(ValueError, match=message):
            rules.finops_days(from_date, to_date, today, first)


def test_decimal_text_gives_the_float32_of_every_numeric_4_3_value():
    """Every numeric(4, 3) value in 0..1, as ADBC's decimal text (trailing zeros and all), maps to what PostgreSQL's
    ::float8 (the nearest double, as Python's float() of the decimal text) followed by a Float32 cast gives."""
    texts = [f"{k // 1000}.{k % 1000:03d}" for k in range(1001)]
    got = pl.DataFrame({"score": texts}).select(rules.decimal_text_as_float32("score"))
    expected = np.array([float(text) for text in texts], dtype=np.float32)
    assert got["score"].dtype == pl.Float32
    assert np.array_equal(got["score"].to_numpy(), expected)


@pytest.mark.parametrize(
    ("rows", "block_rows", "lengths"),
    [
        (0, 200, []),
        (1, 200, [1]),
        (202, 200, [202]),  # a flush of two Arrow batches: one insert, not 200 + 2
        (299, 200, [299]),
        (301, 200, [151, 150]),
        (1000, 200, [200] * 5),
        (20, 7, [7, 7, 6]),
    ],
)
def test_insert_blocks_cover_the_rows_once_in_near_equal_blocks(rows, block_rows, lengths):
    blocks = rules.insert_blocks(rows, block_rows)
    assert [length for _, length in blocks] == lengths
    assert [offset for offset, _ in blocks] == [sum(lengths[:index]) for index in range(len(lengths))]
