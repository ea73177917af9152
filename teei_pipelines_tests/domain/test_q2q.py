"""taxonomy-v1 and the budget decision (q2q-synthetics.md §2, §5): the spec's worked example, tokenising edge cases,
the vectorized classifier held to the reference on random text, and the check-and-charge rules."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from teei_pipelines.domain import q2q

WORKED = "I feel more confident now, joined a community, and my job-search skills improved!"


def frame_scores(texts: list[str]) -> dict[str, list[q2q.DimensionScore]]:
    """classify_frame's output in the reference's shape, per text id."""
    frame = pl.DataFrame({"text_id": [str(i) for i in range(len(texts))], "text": texts})
    out: dict[str, list[q2q.DimensionScore]] = {str(i): [] for i in range(len(texts))}
    order = {dimension.key: index for index, dimension in enumerate(q2q.TAXONOMY)}
    for row in q2q.classify_frame(frame).iter_rows(named=True):
        out[row["text_id"]].append(
            q2q.DimensionScore(
                row["dimension"],
                Decimal(str(row["score"])).quantize(Decimal("0.001")),
                Decimal(str(row["confidence"])).quantize(Decimal("0.001")),
                tuple(row["topics"]),
            )
        )
    return {key: sorted(value, key=lambda s: order[s.dimension]) for key, value in out.items()}


def as_tuples(scores: list[q2q.DimensionScore]) -> list[tuple]:
    return [(s.dimension, str(s.score), str(s.confidence), s.topics) for s in scores]


def test_worked_example():
    assert "jobsearch" in q2q.tokenize(WORKED) and "skills" in q2q.tokenize(WORKED)
    expected = [
        ("confidence", "0.333", "0.600", ("confidence",)),
        ("belonging", "0.333", "0.600", ("community",)),
        ("job_readiness", "0.667", "0.700", ("job", "skills")),
    ]
    assert as_tuples(q2q.classify_text(WORKED)) == expected
    assert as_tuples(frame_scores([WORKED])["0"]) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # mental health counts as `health` too: 2 hits, 2 distinct.
        ("Good for my mental health.", [("wellbeing", "0.667", "0.700", ("health", "mental health"))]),
        # three hits cap the score at 1; four distinct keywords cap confidence at 0.9
        (
            "communication, language, speaking and writing, writing",
            [("language_proficiency", "1.000", "0.900", ("communication", "language", "speaking", "writing"))],
        ),
        # accents and compatibility forms fold; apostrophes and hyphens join tokens
        (
            "CONFIDÉNCE ｊｏｂ self-esteem",
            [
                ("confidence", "0.667", "0.700", ("confidence", "self-esteem")),
                ("job_readiness", "0.333", "0.600", ("job",)),
            ],
        ),
        # a stem must start the token: "subjob" and "unconnected" do not count
        ("subjob unconnected", []),
        # the phrase needs two consecutive tokens
        ("mental, wellness; not mental and health", [("wellbeing", "0.667", "0.700", ("health", "wellness"))]),
        ("", []),
        ("    ", []),
    ],
)
def test_rules(text, expected):
    assert as_tuples(q2q.classify_text(text)) == expected
    assert as_tuples(frame_scores([text])["0"]) == expected


def test_only_the_first_10000_characters_count():
    text = "x " * 5000 + "career"
    assert len(text) > q2q.MAX_TEXT_CHARS
    assert q2q.classify_text(text) == []
    assert frame_scores([text])["0"] == []


def test_sharp_s_casefolds_to_ss():
    # casefold("ß") is "ss", lowercase is not: "Wellneß" must match the stem "wellnes"
    assert as_tuples(q2q.classify_text("Wellneß")) == [("wellbeing", "0.333", "0.600", ("wellness",))]
    assert as_tuples(frame_scores(["Wellneß"])["0"]) == as_tuples(q2q.classify_text("Wellneß"))


WORDS = st.sampled_from(
    [
        "confident",
        "Selbst",
        "self-esteem",
        "empowered",
        "Assertive",
        "belong",
        "community",
        "connected",
        "included",
        "language",
        "communication",
        "speaking",
        "writing",
        "job",
        "jobs",
        "career",
        "employment",
        "skills",
        "résumé",
        "health",
        "wellness",
        "wellbeing",
        "mental",
        "Mental-Health",
        "it's",
        "job’s",
        "ÉCRIRE",
        "ｊｏｂ",
        "naïve",
        "the",
        "and",
        "x",
        "42",
        "",
    ]
)
SEPARATORS = st.sampled_from([" ", ", ", "\n", "-", "'", "’", ".", "  ", "/", "é", "☃"])


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(WORDS, SEPARATORS), max_size=20), st.text(max_size=30))
def test_vectorized_equals_reference(parts, noise):
    texts = ["".join(word + sep for word, sep in parts), noise, "".join(word + sep for word, sep in parts) + noise]
    vectorized = frame_scores(texts)
    for index, text in enumerate(texts):
        assert as_tuples(vectorized[str(index)]) == as_tuples(q2q.classify_text(text)), text


def test_taxonomy_survives_the_cache_round_trip():
    for dimension in q2q.TAXONOMY:
        assert q2q.dimension_from_cache(dimension.key, q2q.taxonomy_cache_value(dimension)) == dimension


# --- budgets ---------------------------------------------------------------------------------------------------

DAY = date(2026, 3, 14)


def rows(monthly_budget="1", monthly_spent="0", daily_budget="1", daily_spent="0", warned=None):
    return (
        q2q.UsageRow(
            "monthly", DAY.replace(day=1), Decimal(monthly_budget), Decimal(monthly_spent), list(warned or [])
        ),
        q2q.UsageRow("daily", DAY, Decimal(daily_budget), Decimal(daily_spent), []),
    )


def test_exactly_reaching_the_budget_is_allowed_and_warns_once_per_threshold():
    monthly, daily = rows(monthly_budget="0.001", daily_budget="10", monthly_spent="0.0005")
    decision = q2q.check_and_charge(monthly, daily, Decimal("0.0005"), allow_override=False, request_id="r1")
    assert decision.allowed and monthly.spent == Decimal("0.0010")
    assert [(e.window, e.event_type, e.threshold) for e in decision.events] == [
        ("monthly", "warning", 80),
        ("monthly", "warning", 90),
    ]
    assert monthly.warned == [80, 90]
    again = q2q.check_and_charge(monthly, daily, Decimal("0.0005"), allow_override=False, request_id="r2")
    assert not again.allowed
    assert again.reason == "Monthly budget exceeded: $0.0010 / $0.00"
    assert [(e.window, e.event_type) for e in again.events] == [("monthly", "blocked")]
    assert monthly.spent == Decimal("0.0010")  # a block charges nothing


def test_monthly_is_checked_before_daily():
    monthly, daily = rows(monthly_budget="1", monthly_spent="1", daily_budget="0", daily_spent="0")
    decision = q2q.check_and_charge(monthly, daily, Decimal("0.5"), allow_override=False, request_id=None)
    assert decision.reason.startswith("Monthly budget exceeded: $1.0000 / $1.00")


def test_daily_block_reports_spend_before_the_cost():
    monthly, daily = rows(monthly_budget="100", daily_budget="3.333333", daily_spent="3.33321")
    decision = q2q.check_and_charge(monthly, daily, Decimal("0.0005"), allow_override=False, request_id=None)
    assert not decision.allowed
    assert decision.reason == "Daily budget exceeded: $3.3332 / $3.33"


def test_override_records_exceeded_and_charges():
    monthly, daily = rows(monthly_budget="0.0004")
    decision = q2q.check_and_charge(monthly, daily, Decimal("0.0005"), allow_override=True, request_id="r")
    assert decision.allowed
    assert [(e.window, e.event_type) for e in decision.events][:1] == [("monthly", "exceeded")]
    assert monthly.spent == Decimal("0.0005") and daily.spent == Decimal("0.0005")


def test_utilization_of_a_zero_budget():
    assert q2q.utilization_percent(Decimal(0), Decimal(0)) == 0
    assert q2q.utilization_percent(Decimal("0.1"), Decimal(0)) == 100
    assert q2q.daily_budget(Decimal(900), None) == Decimal(30)
    assert q2q.daily_budget(Decimal(900), Decimal(7)) == Decimal(7)
    assert q2q.period_starts(DAY) == {"monthly": date(2026, 3, 1), "daily": DAY}
