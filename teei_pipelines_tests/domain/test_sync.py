"""Sync rules without I/O: window arithmetic, the vectorized uuid5 against Python's uuid module, UUID decoding,
and the row mappings of analytics.md §2 and §5."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

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


def test_uuid5_series_equals_python_uuid5_for_many_namespaces():
    ids = [str(uuid.uuid4()) for _ in range(2_000)] + [rules.NIL_UUID, "ffffffff-ffff-ffff-ffff-ffffffffffff"]
    got = rules.uuid5_series(pl.Series("id", ids), "completed").to_list()
    assert got == [str(uuid.uuid5(uuid.UUID(value), "completed")) for value in ids]
    other = rules.uuid5_series(pl.Series("id", ids[:3]), "enrolled").to_list()
    assert other == [str(uuid.uuid5(uuid.UUID(value), "enrolled")) for value in ids[:3]]
    assert rules.uuid5_series(pl.Series("id", [], dtype=pl.String), "completed").len() == 0


def test_uuid_bytes_decodes_upper_and_lower_case_and_rejects_malformed_text():
    ids = [str(uuid.uuid4()) for _ in range(100)]
    ids[7] = ids[7].upper()
    decoded = rules.uuid_bytes(pl.Series("id", ids))
    assert [bytes(row) for row in decoded] == [uuid.UUID(value).bytes for value in ids]
    for bad in ("not-a-uuid", "g" + ids[0][1:], ids[0].replace("-", "_"), ids[0][:-1]):
        with pytest.raises(ValueError, match="id"):
            rules.uuid_bytes(pl.Series("id", [ids[1], bad]))
    assert rules.uuid_strings(decoded, "id").to_list() == [value.lower() for value in ids]


def test_outcome_scores_mapping_fills_nulls_and_keeps_microseconds():
    frame = pl.DataFrame(
        {
            "id": [str(uuid.uuid4())],
            "user_id": [None],
            "company_id": [None],
            "text_id": [str(uuid.uuid4())],
            "text_type": [None],
            "dimension": ["confidence"],
            "score": [0.125],
            "confidence": [None],
            "model_version": [None],
            "created_at": [T],
        },
        schema_overrides={"user_id": pl.String, "company_id": pl.String, "confidence": pl.Float64},
    )
    row = rules.outcome_scores_rows(frame).row(0, named=True)
    assert row["user_id"] == row["company_id"] == rules.NIL_UUID
    assert (row["text_type"], row["model_version"], row["confidence"]) == ("", "", 0.0)
    assert row["created_at"] == T
    assert row["_window_start"] == datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
    assert row["_version"] == rules.version_of(T) == int(T.timestamp()) * 1_000_000 + 123456


def test_completed_event_has_uuid5_id_and_enrollment_metadata():
    enrollment = str(uuid.uuid4())
    frame = pl.DataFrame(
        {
            "id": [enrollment],
            "user_id": [str(uuid.uuid4())],
            "company_id": [None],
            "program_type": ["buddy"],
            "completed_at": [T],
        },
        schema_overrides={"company_id": pl.String},
    )
    row = rules.completed_event_rows(frame).row(0, named=True)
    assert row["id"] == str(uuid.uuid5(uuid.UUID(enrollment), "completed"))
    assert row["event_type"] == "program_completed"
    assert json.loads(row["metadata"]) == {"enrollment_id": enrollment}
    assert row["company_id"] == rules.NIL_UUID


def test_enrolled_event_metadata_is_json_with_the_status():
    frame = pl.DataFrame(
        {
            "id": [str(uuid.uuid4())],
            "user_id": [str(uuid.uuid4())],
            "company_id": [str(uuid.uuid4())],
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
