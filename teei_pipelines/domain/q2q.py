"""Q2Q rules without I/O (q2q-synthetics.md §1, §2, §4, §5): the taxonomy-v1 classifier, twice — a vectorized
polars version for batches and a plain-Python reference the tests hold it to — and the budget check-and-charge
decision that the database layer applies under row locks.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import polars as pl

MODEL_VERSION = "taxonomy-v1"
TEXT_TYPE = "kintell_feedback"
CLASSIFICATION_COST_USD = Decimal("0.0005")
MAX_TEXT_CHARS = 10_000
WARNING_THRESHOLDS = (80, 90)


@dataclass(frozen=True)
class Keyword:
    word: str
    stems: tuple[str, ...]  # one stem, or two for a two-token phrase ("mental health")


@dataclass(frozen=True)
class Dimension:
    key: str
    name: str
    description: str
    keywords: tuple[Keyword, ...]


def _keywords(pairs: str) -> tuple[Keyword, ...]:
    """'word=stem, …' with `+` joining the stems of a phrase."""
    parsed = []
    for pair in pairs.split(","):
        word, stems = pair.strip().split("=")
        parsed.append(Keyword(word, tuple(stems.split("+"))))
    return tuple(parsed)


TAXONOMY: tuple[Dimension, ...] = (
    Dimension(
        "confidence",
        "Confidence",
        "Self-esteem, assertiveness, and personal growth",
        _keywords("confidence=confiden, self-esteem=selfesteem, empowered=empower, assertive=assertiv"),
    ),
    Dimension(
        "belonging",
        "Belonging",
        "Social connection, community, and inclusion",
        _keywords("belong=belong, community=communit, connected=connect, included=includ"),
    ),
    Dimension(
        "language_proficiency",
        "Language Proficiency",
        "Communication skills and language abilities",
        _keywords("language=languag, communication=communication, speaking=speak, writing=writ"),
    ),
    Dimension(
        "job_readiness",
        "Job Readiness",
        "Employment skills and career preparation",
        _keywords("job=job, career=career, employment=employment, skills=skill, resume=resum"),
    ),
    Dimension(
        "wellbeing",
        "Wellbeing",
        "Mental and physical health and wellness",
        _keywords("health=health, wellness=wellnes, wellbeing=wellbe, mental health=mental+health"),
    ),
)

PROMPTS: tuple[str, ...] = (
    "Classify the following feedback into outcome dimensions",
    "Analyze this volunteer feedback",
    "Identify impact areas from this text",
    "Categorize this CSR feedback",
    "Extract sentiment and outcomes",
)


def taxonomy_cache_value(dimension: Dimension) -> dict:
    """The q2q_cache value of `taxonomy:<dimension>` (§4)."""
    return {
        "name": dimension.name,
        "description": dimension.description,
        "keywords": [keyword.word for keyword in dimension.keywords],
        "stems": ["+".join(keyword.stems) for keyword in dimension.keywords],
        "version": MODEL_VERSION,
    }


def dimension_from_cache(key: str, value: dict) -> Dimension:
    """The inverse of taxonomy_cache_value: the classifier reads its taxonomy back from the cache."""
    keywords = tuple(
        Keyword(word, tuple(stems.split("+"))) for word, stems in zip(value["keywords"], value["stems"], strict=True)
    )
    return Dimension(key, value["name"], value["description"], keywords)


# ---------------------------------------------------------------------------------------------------------------
# Tokenising (§5): NFKD, drop combining marks, casefold; delete - ' ’; split on runs outside [a-z0-9].

_DELETED = re.compile("[-'’]")
_SEPARATORS = re.compile("[^a-z0-9]+")


def tokenize(text: str) -> list[str]:
    decomposed = unicodedata.normalize("NFKD", text)
    folded = "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()
    return [token for token in _SEPARATORS.split(_DELETED.sub("", folded)) if token]


@dataclass(frozen=True)
class DimensionScore:
    dimension: str
    score: Decimal
    confidence: Decimal
    topics: tuple[str, ...]


def score_dimension(dimension: str, hits: int, distinct: int, topics: Sequence[str]) -> DimensionScore:
    """score = min(1, hits/3), confidence = min(0.9, 0.5 + 0.1·distinct), both half-up to 3 dp (exact integers)."""
    score_milli = (2000 * min(hits, 3) + 3) // 6
    confidence_milli = min(900, 500 + 100 * distinct)
    return DimensionScore(
        dimension, Decimal(score_milli).scaleb(-3), Decimal(confidence_milli).scaleb(-3), tuple(sorted(topics))
    )


def classify_text(text: str, taxonomy: Sequence[Dimension] = TAXONOMY) -> list[DimensionScore]:
    """The reference classifier: one text, a plain loop over tokens. Only dimensions with a hit appear."""
    tokens = tokenize(text[:MAX_TEXT_CHARS])
    scores = []
    for dimension in taxonomy:
        counts: dict[str, int] = {}
        for keyword in dimension.keywords:
            width = len(keyword.stems)
            matches = sum(
                1
                for start in range(len(tokens) - width + 1)
                if all(tokens[start + i].startswith(stem) for i, stem in enumerate(keyword.stems))
            )
            if matches:
                counts[keyword.word] = matches
        if counts:
            scores.append(score_dimension(dimension.key, sum(counts.values()), len(counts), list(counts)))
    return scores


# ---------------------------------------------------------------------------------------------------------------
# The vectorized classifier: one normalisation pass and one count_matches per keyword over the whole column.

_NOT_TOKEN = "[^a-z0-9]"


def _keyword_pattern(keyword: Keyword) -> str:
    """A token start (text start or a separator) followed by the stem; phrases join stems across separators."""
    pattern = f"(?:^|{_NOT_TOKEN}){re.escape(keyword.stems[0])}"
    for stem in keyword.stems[1:]:
        pattern += f"[a-z0-9]*{_NOT_TOKEN}+{re.escape(stem)}"
    return pattern


def normalized_text(column: pl.Expr) -> pl.Expr:
    """NFKD, combining marks dropped, lower-cased (casefold's ASCII-relevant extra: ß → ss), - ' ’ deleted."""
    return (
        column.str.slice(0, MAX_TEXT_CHARS)
        .str.normalize("NFKD")
        .str.replace_all(r"\p{Mn}", "")
        .str.to_lowercase()
        .str.replace_all("ß", "ss", literal=True)
        .str.replace_all("[-'’]", "")
    )


def classify_frame(texts: pl.DataFrame, taxonomy: Sequence[Dimension] = TAXONOMY) -> pl.DataFrame:
    """texts(text_id, text) → one row per (text_id, dimension) with a hit: hits, distinct, score, confidence
    (Float64, already 3-dp exact), topics (sorted list). No Python loop over texts."""
    frame = texts.select("text_id", normalized_text(pl.col("text")).alias("_norm"))
    counts = frame.select(
        "text_id",
        *[
            pl.col("_norm").str.count_matches(_keyword_pattern(keyword)).alias(f"{dimension.key}|{keyword.word}")
            for dimension in taxonomy
            for keyword in dimension.keywords
        ],
    )
    per_dimension = []
    for dimension in taxonomy:
        columns = [f"{dimension.key}|{keyword.word}" for keyword in dimension.keywords]
        per_dimension.append(
            counts.select(
                "text_id",
                pl.lit(dimension.key).alias("dimension"),
                pl.sum_horizontal(columns).cast(pl.Int64).alias("hits"),
                pl.sum_horizontal([(pl.col(c) > 0).cast(pl.Int64) for c in columns]).alias("distinct"),
                pl.concat_list(
                    [
                        pl.when(pl.col(c) > 0).then(pl.lit(keyword.word)).otherwise(pl.lit(None, pl.String))
                        for c, keyword in zip(columns, dimension.keywords, strict=True)
                    ]
                )
                .list.drop_nulls()
                .list.sort()
                .alias("topics"),
            ).filter(pl.col("hits") > 0)
        )
    scored = pl.concat(per_dimension)
    return scored.with_columns(
        ((2000 * pl.col("hits").clip(upper_bound=3) + 3) // 6 / 1000).alias("score"),
        (pl.min_horizontal(900, 500 + 100 * pl.col("distinct")) / 1000).alias("confidence"),
    )


def text_sha256(text: str) -> str:
    return hashlib.sha256(text[:MAX_TEXT_CHARS].encode()).hexdigest()


# ---------------------------------------------------------------------------------------------------------------
# Budgets (§1, §2)


def period_starts(today: date) -> dict[str, date]:
    return {"monthly": today.replace(day=1), "daily": today}


@dataclass
class UsageRow:
    window: str  # monthly | daily
    period_start: date
    budget: Decimal
    spent: Decimal
    warned: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class BudgetEvent:
    window: str
    period_start: date
    event_type: str  # warning | exceeded | blocked
    budget: Decimal
    spent: Decimal
    threshold: int | None = None
    reason: str | None = None
    request_id: str | None = None


@dataclass(frozen=True)
class ChargeDecision:
    allowed: bool
    reason: str | None
    events: tuple[BudgetEvent, ...]


def utilization_percent(spent: Decimal, budget: Decimal) -> Decimal:
    if budget == 0:
        return Decimal(100) if spent > 0 else Decimal(0)
    return spent / budget * 100


def exceeded_reason(window: str, spent: Decimal, budget: Decimal) -> str:
    label = "Monthly" if window == "monthly" else "Daily"
    spent_4 = spent.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
    budget_2 = budget.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return f"{label} budget exceeded: ${spent_4} / ${budget_2}"


def check_and_charge(
    monthly: UsageRow, daily: UsageRow, cost: Decimal, *, allow_override: bool, request_id: str | None
) -> ChargeDecision:
    """§2 on locked rows, in memory: monthly first, then daily; strictly-greater blocks unless allow_override.
    An allowed charge mutates both rows (spent, warned) and returns the events to record."""
    events: list[BudgetEvent] = []
    for row in (monthly, daily):
        if row.spent + cost > row.budget:
            reason = exceeded_reason(row.window, row.spent, row.budget)
            event_type = "exceeded" if allow_override else "blocked"
            events.append(
                BudgetEvent(row.window, row.period_start, event_type, row.budget, row.spent, None, reason, request_id)
            )
            if not allow_override:
                return ChargeDecision(False, reason, tuple(events))
    for row in (monthly, daily):
        row.spent += cost
        utilization = utilization_percent(row.spent, row.budget)
        for threshold in WARNING_THRESHOLDS:
            if utilization >= threshold and threshold not in row.warned:
                row.warned.append(threshold)
                events.append(
                    BudgetEvent(
                        row.window, row.period_start, "warning", row.budget, row.spent, threshold, None, request_id
                    )
                )
    return ChargeDecision(True, None, tuple(events))


def daily_budget(monthly_budget: Decimal, daily_budget_usd: Decimal | None) -> Decimal:
    return daily_budget_usd if daily_budget_usd is not None else monthly_budget / 30
