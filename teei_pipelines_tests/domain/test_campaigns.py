"""Campaign rules (campaigns.md §1, §3-§7) with the spec's boundaries."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from teei_pipelines.domain.campaigns import (
    TransitionError,
    aggregate_instances,
    allowed_transitions,
    auto_transition_target,
    build_snapshot,
    can_transition,
    credits_for_minutes,
    credits_remaining,
    crossed_bands,
    low_credit,
    snapshot_due,
    snapshot_frequency_hours,
    validate_transition,
)

CAMPAIGN_ID = "11111111-1111-1111-1111-111111111111"


def test_the_state_machine_has_fifteen_edges_in_spec_order():
    assert allowed_transitions("planned") == ["draft", "recruiting", "active", "closed"]
    assert allowed_transitions("closed") == []
    assert allowed_transitions("unknown") == []
    edges = sum(
        len(allowed_transitions(s))
        for s in ("draft", "planned", "recruiting", "active", "paused", "completed", "closed")
    )
    assert edges == 15
    assert not can_transition("active", "active")
    assert can_transition("paused", "closed") and not can_transition("active", "closed")


def test_invalid_transition_carries_code_and_details():
    with pytest.raises(TransitionError) as caught:
        validate_transition({"status": "completed"}, "active")
    assert caught.value.code == "INVALID_TRANSITION"
    assert caught.value.details == {
        "currentStatus": "completed",
        "newStatus": "active",
        "allowedTransitions": ["closed"],
    }


def valid_draft(**changes):
    campaign = {
        "status": "draft",
        "name": "Spring",
        "program_template_id": "t",
        "beneficiary_group_id": "g",
        "start_date": date(2025, 3, 1),
        "end_date": date(2025, 6, 1),
        "target_volunteers": 10,
        "target_beneficiaries": "20",
        "budget_allocated": "50000.00",
        "pricing_model": "seats",
    }
    campaign.update(changes)
    return campaign


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"name": "   "}, "MISSING_NAME"),
        ({"name": "", "program_template_id": None}, "MISSING_NAME"),  # the first failing rule wins
        ({"program_template_id": None}, "MISSING_TEMPLATE"),
        ({"beneficiary_group_id": None}, "MISSING_GROUP"),
        ({"end_date": None}, "MISSING_DATES"),
        ({"end_date": date(2025, 3, 1)}, "INVALID_DATE_RANGE"),  # same-day start and end is refused
        ({"target_volunteers": 0}, "INVALID_TARGET_VOLUNTEERS"),
        ({"target_beneficiaries": Decimal(0)}, "INVALID_TARGET_BENEFICIARIES"),
        ({"budget_allocated": None}, "INVALID_BUDGET"),
        ({"pricing_model": None}, "MISSING_PRICING_MODEL"),
    ],
)
def test_draft_to_planned_rules_in_order(changes, code):
    with pytest.raises(TransitionError) as caught:
        validate_transition(valid_draft(**changes), "planned")
    assert caught.value.code == code


def test_a_complete_draft_may_be_planned():
    validate_transition(valid_draft(), "planned")


START = date(2024, 2, 29)  # leap day


@pytest.mark.parametrize(
    ("status", "start", "end", "now", "expected"),
    [
        (
            "planned",
            START,
            date(2024, 6, 1),
            datetime(2024, 2, 29, tzinfo=UTC),
            ("active", "Start date reached (2024-02-29)"),
        ),
        ("planned", START, date(2024, 6, 1), datetime(2024, 2, 29, tzinfo=UTC) - timedelta(seconds=1), None),
        (
            "recruiting",
            "2024-12-31",
            "2025-01-01",
            datetime(2025, 1, 1, tzinfo=UTC),
            ("active", "Start date reached (2024-12-31)"),
        ),
        (
            "active",
            date(2024, 1, 1),
            date(2025, 1, 1),
            datetime(2025, 1, 1, tzinfo=UTC),
            ("completed", "End date reached (2025-01-01)"),
        ),
        ("active", date(2024, 1, 1), date(2025, 1, 1), datetime(2024, 12, 31, 23, 59, 59, tzinfo=UTC), None),
        ("paused", date(2020, 1, 1), date(2020, 2, 1), datetime(2025, 1, 1, tzinfo=UTC), None),
        ("draft", date(2020, 1, 1), date(2020, 2, 1), datetime(2025, 1, 1, tzinfo=UTC), None),
        ("completed", date(2020, 1, 1), date(2020, 2, 1), datetime(2025, 1, 1, tzinfo=UTC), None),
        ("planned", None, date(2020, 2, 1), datetime(2025, 1, 1, tzinfo=UTC), None),  # NULL is never 1970
        ("planned", "not a date", None, datetime(2025, 1, 1, tzinfo=UTC), None),
        # One step per run: a planned campaign past its end date becomes active first.
        (
            "planned",
            date(2020, 1, 1),
            date(2020, 2, 1),
            datetime(2025, 1, 1, tzinfo=UTC),
            ("active", "Start date reached (2020-01-01)"),
        ),
    ],
)
def test_auto_transition_target(status, start, end, now, expected):
    assert auto_transition_target(status, start, end, now) == expected


def instance(**values):
    row = {
        "campaign_id": CAMPAIGN_ID,
        "status": "active",
        "enrolled_volunteers": 0,
        "enrolled_beneficiaries": 0,
        "total_sessions_held": 0,
        "total_hours_logged": "0",
        "sroi_score": None,
        "average_vis_score": None,
    }
    row.update(values)
    return row


def test_rollup_sums_and_weighted_sroi():
    campaign = {"id": CAMPAIGN_ID, "target_volunteers": 10, "target_beneficiaries": 100}
    rows = [
        instance(
            enrolled_volunteers=4,
            enrolled_beneficiaries=30,
            total_sessions_held=5,
            total_hours_logged="10.25",
            sroi_score="3.00",
            average_vis_score="40.00",
        ),
        instance(status="planned", enrolled_volunteers=3, enrolled_beneficiaries=10, total_sessions_held=1),
        instance(
            status="completed",
            enrolled_volunteers=9,
            enrolled_beneficiaries=10,
            total_sessions_held=7,
            total_hours_logged=Decimal("1.10"),
            sroi_score=5,
            average_vis_score=50.005,
        ),
        instance(campaign_id="other", enrolled_volunteers=100, total_sessions_held=100),
    ]
    result = aggregate_instances(campaign, rows)
    assert (result["current_volunteers"], result["current_beneficiaries"]) == (7, 40)
    assert result["current_sessions"] == 13
    assert result["total_hours_logged"] == Decimal("11.35")
    assert result["cumulative_sroi"] == Decimal("3.50")  # (3·30 + 5·10) / 40
    assert result["average_vis"] == Decimal("45.00")  # toFixed(45.0025, 2)
    assert result["capacity_utilization"] == Decimal("0.7000")
    assert not result["is_near_capacity"] and not result["is_over_capacity"]


def test_zero_weight_sroi_falls_back_to_the_plain_mean_and_null_without_candidates():
    campaign = {"id": CAMPAIGN_ID, "target_volunteers": 1, "target_beneficiaries": 1}
    plain = aggregate_instances(campaign, [instance(sroi_score="2.00"), instance(sroi_score="3.01")])
    # The mean is 2.505 in doubles, stored as 2.50499999…, so toFixed(2) gives 2.50 (Python's Decimal("2.505")
    # would round half-up to 2.51: the spec's fixed() works on the binary value).
    assert plain["cumulative_sroi"] == Decimal("2.50")
    none = aggregate_instances(campaign, [instance(status="planned", sroi_score="2.00")])
    assert none["cumulative_sroi"] is None and none["average_vis"] is None


@pytest.mark.parametrize(
    ("volunteers", "beneficiaries", "near", "over", "stored"),
    [
        (79, 0, False, False, "0.7900"),
        (80, 0, True, False, "0.8000"),
        (99, 0, True, False, "0.9900"),
        (100, 0, False, True, "1.0000"),
        (0, 250, False, True, "1.2500"),
    ],
)
def test_capacity_uses_the_max_of_both_ratios_and_sets_and_clears_flags(volunteers, beneficiaries, near, over, stored):
    campaign = {"id": CAMPAIGN_ID, "target_volunteers": 100, "target_beneficiaries": 200}
    result = aggregate_instances(
        campaign, [instance(enrolled_volunteers=volunteers, enrolled_beneficiaries=beneficiaries)]
    )
    assert (result["is_near_capacity"], result["is_over_capacity"]) == (near, over)
    assert result["capacity_utilization"] == Decimal(stored)


def test_zero_targets_give_zero_utilization_not_infinity():
    campaign = {"id": CAMPAIGN_ID, "target_volunteers": 0, "target_beneficiaries": 0}
    result = aggregate_instances(campaign, [instance(enrolled_volunteers=5, enrolled_beneficiaries=5)])
    assert result["capacity_utilization"] == Decimal("0.0000") and not result["is_over_capacity"]


def test_crossed_bands_lowest_first_and_none_on_rerun():
    assert [b.band for b in crossed_bands("0.75", 1.05)] == ["80%", "90%", "100%"]
    assert [b.band for b in crossed_bands(Decimal("0.8"), 0.8)] == []
    assert [b.band for b in crossed_bands(None, 1.1)] == ["80%", "90%", "100%", "110%"]


@pytest.mark.parametrize(
    ("status", "sessions", "hours"),
    [
        ("active", 101, 1),
        ("active", 100, 6),
        ("active", 26, 6),
        ("active", 25, 24),
        ("planned", 500, 24),
        ("recruiting", 0, 24),
        ("paused", 0, 24),
        ("completed", 500, 0),
        ("closed", 0, 0),
        ("draft", 0, 0),
    ],
)
def test_snapshot_frequency(status, sessions, hours):
    assert snapshot_frequency_hours(status, sessions) == hours


def test_snapshot_due_on_multiples_of_the_frequency():
    assert snapshot_due("active", 30, 12) and not snapshot_due("active", 30, 13)
    assert snapshot_due("planned", 0, 0) and not snapshot_due("planned", 0, 6)
    assert not snapshot_due("completed", 500, 0)


def test_snapshot_row_values_and_alerts():
    campaign = {
        "id": CAMPAIGN_ID,
        "name": "Spring",
        "status": "active",
        "company_id": "c",
        "program_template_id": "t",
        "beneficiary_group_id": "g",
        "target_volunteers": 10,
        "current_volunteers": 10,
        "target_beneficiaries": 40,
        "current_beneficiaries": 33,
        "max_sessions": 0,
        "current_sessions": 12,
        "budget_allocated": "1000.00",
        "budget_spent": "1100.60",
        "cumulative_sroi": "1.50",
        "average_vis": None,
        "total_hours_logged": None,
        "committed_seats": 12,
        "credit_allocation": None,
        "iaas_metrics": {"learnersCommitted": 30},
    }
    rows = [
        instance(
            volunteers_consumed=3,
            credits_consumed=None,
            learners_served=4,
            outcome_scores={"confidence": 0.5, "belonging": 0.125, "note": "text"},
        ),
        instance(
            status="paused",
            volunteers_consumed=2,
            credits_consumed="0",
            learners_served=1,
            outcome_scores={"confidence": 0.6},
        ),
    ]
    snapshot_date = datetime(2025, 1, 1, 6, tzinfo=UTC)
    row = build_snapshot(campaign, rows, snapshot_date)
    assert row["snapshot_date"] == snapshot_date
    assert row["volunteers_utilization"] == Decimal("1.0000")
    assert row["beneficiaries_utilization"] == Decimal("0.8250")
    assert row["sessions_utilization"] is None  # max_sessions 0
    assert row["budget_remaining"] == Decimal("-100.60")  # overspend is recordable
    assert row["budget_utilization"] == Decimal("1.1006")
    assert (row["seats_used"], row["seats_committed"], row["credits_consumed"]) == (5, 12, None)
    assert (row["learners_served"], row["learners_committed"], row["total_hours_logged"]) == (5, 30, Decimal(0))
    full = row["full_snapshot"]
    assert full["programInstances"] == {
        "activeCount": 1,
        "totalCount": 2,
        "avgOutcomeScores": {"belonging": 0.13, "confidence": 0.55},
    }
    assert [a["type"] for a in full["alerts"]] == [
        "capacity_critical",
        "capacity_warning",
        "budget_warning",
        "performance_low",
    ]
    assert full["alerts"][0]["message"] == "Volunteer capacity exceeded: 100.0% utilization"
    assert full["alerts"][1]["message"] == "Beneficiary capacity nearing limit: 82.5% utilization"
    assert full["alerts"][1]["currentValue"] == 0.825
    assert full["alerts"][2]["message"] == "Budget 110.1% spent"
    assert full["alerts"][3]["message"] == "SROI below target: 1.50"


def test_snapshot_of_a_zero_budget_campaign_has_no_budget_alert():
    campaign = {
        "id": CAMPAIGN_ID,
        "status": "planned",
        "target_volunteers": 0,
        "target_beneficiaries": 0,
        "budget_allocated": 0,
        "budget_spent": 0,
        "cumulative_sroi": None,
    }
    row = build_snapshot(campaign, [], datetime(2025, 1, 1, tzinfo=UTC))
    assert row["budget_utilization"] == Decimal("0.0000") and row["full_snapshot"]["alerts"] == []


@pytest.mark.parametrize(
    ("minutes", "rate", "credits"),
    [(60, "1.5", 2), (30, "1.0000", 1), (29, 1, 0), (90, "0.3333", 0), (100, "0.3", 1), (45, None, 0), (45, -1, 0)],
)
def test_credits_are_exact_and_half_up(minutes, rate, credits):
    # 30 min at 1.0 = 0.5 → 1 (half-up, not half-even); 100 × 0.3 / 60 = 0.5 → 1; 90 × 0.3333 / 60 = 0.49995 → 0.
    assert credits_for_minutes(minutes, rate) == credits


@pytest.mark.parametrize(
    ("allocation", "consumed", "remaining", "alert"),
    [
        (100, [50], 50, False),
        (100, [90], 10, False),
        (100, [91], 9, True),
        (100, [100], 0, True),
        (100, [60, 60], -20, True),
        (None, [5], None, False),
        (0, [0], 0, False),
    ],
)
def test_credits_remaining_is_recomputed_and_low_credit_includes_zero_and_negative(
    allocation, consumed, remaining, alert
):
    assert credits_remaining(allocation, consumed) == remaining
    assert low_credit(allocation, remaining) is alert


def test_outcome_scores_may_arrive_as_json_text():
    campaign = {
        "id": CAMPAIGN_ID,
        "status": "active",
        "target_volunteers": 1,
        "target_beneficiaries": 1,
        "budget_allocated": 1,
        "budget_spent": 0,
    }
    rows = [instance(outcome_scores='{"wellbeing": 0.3}'), instance(outcome_scores='{"wellbeing": 0.6}')]
    assert build_snapshot(campaign, rows, None)["full_snapshot"]["programInstances"]["avgOutcomeScores"] == {
        "wellbeing": 0.45
    }
