"""The hourly campaign assets compute every campaign at once in polars (`aggregate_frame`, `snapshot_frame`,
`snapshots_due`, `fixed_decimal_expr`); each must equal its per-campaign reference rule exactly, to the last digit
and for every key, on random campaigns and instances (numerics arrive as the database's exact text, as in the
assets)."""

import json
import math
from datetime import UTC, datetime
from decimal import Decimal

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from teei_pipelines.domain import campaigns as rules
from teei_pipelines.domain.rounding import fixed, fixed_decimal_expr

CAMPAIGN_SCHEMA = {
    "id": pl.String,
    "name": pl.String,
    "status": pl.String,
    "company_id": pl.String,
    "program_template_id": pl.String,
    "beneficiary_group_id": pl.String,
    "target_volunteers": pl.Int64,
    "target_beneficiaries": pl.Int64,
    "current_volunteers": pl.Int64,
    "current_beneficiaries": pl.Int64,
    "current_sessions": pl.Int64,
    "max_sessions": pl.Int64,
    "budget_allocated": pl.String,
    "budget_spent": pl.String,
    "committed_seats": pl.Int64,
    "credit_allocation": pl.Int64,
    "iaas_metrics": pl.String,
    "total_sessions_completed": pl.Int64,
    "cumulative_sroi": pl.String,
    "average_vis": pl.String,
    "total_hours_logged": pl.String,
    "capacity_utilization": pl.String,
}
INSTANCE_SCHEMA = {
    "campaign_id": pl.String,
    "status": pl.String,
    "enrolled_volunteers": pl.Int64,
    "enrolled_beneficiaries": pl.Int64,
    "total_sessions_held": pl.Int64,
    "total_hours_logged": pl.String,
    "sroi_score": pl.String,
    "average_vis_score": pl.String,
    "volunteers_consumed": pl.Int64,
    "credits_consumed": pl.String,
    "learners_served": pl.Int64,
    "outcome_scores": pl.String,
}
IDS = [f"00000000-0000-0000-0000-00000000000{index}" for index in range(6)]


def money(high: int) -> st.SearchStrategy[str]:
    """numeric(…, 2) as PostgreSQL prints it."""
    return st.integers(0, high).map(lambda cents: f"{cents // 100}.{cents % 100:02d}")


def small(high: int) -> st.SearchStrategy[int]:
    return st.integers(0, high)


campaign_rows = st.fixed_dictionaries(
    {
        "name": st.text(min_size=1, max_size=8),
        "status": st.sampled_from(["active", "recruiting", "paused", "planned", "completed"]),
        "company_id": st.just("11111111-1111-1111-1111-111111111111"),
        "program_template_id": st.none() | st.just("22222222-2222-2222-2222-222222222222"),
        "beneficiary_group_id": st.just("33333333-3333-3333-3333-333333333333"),
        "target_volunteers": small(40),
        "target_beneficiaries": small(40),
        "current_volunteers": small(60),
        "current_beneficiaries": small(60),
        "current_sessions": small(150),
        "max_sessions": st.none() | small(120),
        "budget_allocated": money(10**6),
        "budget_spent": money(10**6),
        "committed_seats": st.none() | small(50),
        "credit_allocation": st.none() | small(800),
        "iaas_metrics": st.sampled_from([None, "{}", '{"learnersCommitted": 12}', '{"learnersCommitted": 7.9}']),
        "total_sessions_completed": small(30),
        "cumulative_sroi": st.none() | money(600),
        "average_vis": st.none() | money(9000),
        "total_hours_logged": money(10**5),
        "capacity_utilization": st.none() | money(15000).map(lambda v: v + "00"),
    }
)
instance_rows = st.fixed_dictionaries(
    {
        "campaign_id": st.sampled_from(IDS),
        "status": st.sampled_from(["active", "planned", "completed", "paused"]),
        "enrolled_volunteers": small(20),
        "enrolled_beneficiaries": small(25),
        "total_sessions_held": small(40),
        "total_hours_logged": money(10**5),
        "sroi_score": st.none() | money(900),
        "average_vis_score": st.none() | money(10**4),
        "volunteers_consumed": small(9),
        "credits_consumed": st.none() | money(10**4),
        "learners_served": small(9),
        "outcome_scores": st.sampled_from(
            [None, "{}", '{"confidence": 0.62, "belonging": 3}', '{"confidence": 0.5, "note": "x", "ok": true}']
        ),
    }
)


def frames(campaigns: list[dict], instances: list[dict]) -> tuple[pl.DataFrame, pl.DataFrame]:
    with_ids = [{"id": IDS[index], **row} for index, row in enumerate(campaigns)]
    return pl.DataFrame(with_ids, schema=CAMPAIGN_SCHEMA), pl.DataFrame(instances, schema=INSTANCE_SCHEMA)


@settings(max_examples=150, deadline=None)
@given(st.lists(campaign_rows, min_size=1, max_size=5), st.lists(instance_rows, max_size=30))
def test_aggregate_frame_equals_the_per_campaign_rollup(campaigns, instances):
    campaign_frame, instance_frame = frames(campaigns, instances)
    result = rules.aggregate_frame(campaign_frame, instance_frame)
    assert result["id"].to_list() == campaign_frame["id"].to_list()
    for row, campaign in zip(result.to_dicts(), campaign_frame.to_dicts(), strict=True):
        expected = rules.aggregate_instances(campaign, instance_frame.to_dicts())
        assert {key: row[key] for key in expected} == expected


@settings(max_examples=120, deadline=None)
@given(st.lists(campaign_rows, min_size=1, max_size=5), st.lists(instance_rows, max_size=30))
def test_snapshot_frame_equals_the_per_campaign_snapshot(campaigns, instances):
    campaign_frame, instance_frame = frames(campaigns, instances)
    snapshot_date = datetime(2026, 3, 1, 6, tzinfo=UTC)
    built, errors = rules.snapshot_frame(campaign_frame, instance_frame, snapshot_date)
    assert errors == [] and built.height == campaign_frame.height
    for row, campaign in zip(built.to_dicts(), campaign_frame.to_dicts(), strict=True):
        expected = rules.build_snapshot(campaign, instance_frame.to_dicts(), snapshot_date)
        expected["full_snapshot"] = json.loads(json.dumps(expected["full_snapshot"], default=str))
        row["full_snapshot"] = json.loads(row["full_snapshot"])
        assert row == expected


@given(st.lists(campaign_rows, min_size=1, max_size=5), st.integers(0, 23))
def test_snapshots_due_selects_what_snapshot_due_selects(campaigns, hour):
    campaign_frame, _ = frames(campaigns, [])
    due = rules.snapshots_due(campaign_frame, hour)["id"].to_list()
    expected = [
        c["id"] for c in campaign_frame.to_dicts() if rules.snapshot_due(c["status"], c["current_sessions"], hour)
    ]
    assert due == expected


TIES = [2.675, 0.125, 0.03125, 1.005, 2.5, -2.5, 0.0005, 1e-9, 123456.78915, 1 / 3, 2 / 3 * 100]


@settings(max_examples=300)
@given(
    st.lists(
        st.floats(min_value=-1e7, max_value=1e7, allow_nan=False)
        | st.integers(-(10**6), 10**6).map(lambda k: k / 8)
        | st.integers(-(10**6), 10**6).map(lambda k: k / 1000 + 0.0005)
        | st.sampled_from(TIES),
        max_size=40,
    ),
    st.sampled_from([0, 1, 2, 4]),
)
def test_fixed_decimal_expr_is_exact_half_up_of_the_binary_value(values, digits):
    result = pl.DataFrame({"x": values}, schema={"x": pl.Float64}).select(fixed_decimal_expr(pl.col("x"), digits))
    assert result.to_series().to_list() == [fixed(value, digits) for value in values]


def test_fixed_decimal_expr_keeps_nulls_and_masks_non_finite_values():
    frame = pl.DataFrame({"x": [None, math.inf, 0.125]}, schema={"x": pl.Float64})
    assert frame.select(fixed_decimal_expr(pl.col("x"), 2)).to_series().to_list() == [None, None, Decimal("0.13")]


def test_a_campaign_whose_document_cannot_be_built_is_reported_and_left_out():
    good = {"id": IDS[0], "name": "ok", "status": "active", "iaas_metrics": '{"learnersCommitted": 3}'}
    bad = {"id": IDS[1], "name": "bad", "status": "active", "iaas_metrics": '{"learnersCommitted": "many"}'}
    defaults = dict.fromkeys(CAMPAIGN_SCHEMA)
    campaign_frame = pl.DataFrame([{**defaults, **good}, {**defaults, **bad}], schema=CAMPAIGN_SCHEMA)
    built, errors = rules.snapshot_frame(campaign_frame, pl.DataFrame(schema=INSTANCE_SCHEMA), datetime.now(UTC))
    assert built["campaign_id"].to_list() == [IDS[0]] and built["learners_committed"].to_list() == [3]
    assert [error["campaignId"] for error in errors] == [IDS[1]]
    assert "ValueError" in errors[0]["error"]


@pytest.mark.parametrize("status", ["active", "recruiting"])
def test_a_campaign_without_instances_rolls_up_to_zero(status):
    campaign_frame = pl.DataFrame(
        [{**dict.fromkeys(CAMPAIGN_SCHEMA), "id": IDS[0], "status": status, "target_volunteers": 10}],
        schema=CAMPAIGN_SCHEMA,
    )
    row = rules.aggregate_frame(campaign_frame, pl.DataFrame(schema=INSTANCE_SCHEMA)).to_dicts()[0]
    assert row["current_volunteers"] == 0 and row["cumulative_sroi"] is None and row["average_vis"] is None
    assert row == {"id": IDS[0], **rules.aggregate_instances(campaign_frame.to_dicts()[0], [])}
