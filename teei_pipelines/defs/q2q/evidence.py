"""Evidence extraction (q2q-synthetics.md §5): session feedback → taxonomy-v1 outcome_scores, paid for per text.

The texts are classified in one vectorized pass; then, per tenant and chunk, one transaction locks the tenant's
budget rows, skips texts another run classified meanwhile, charges each text in order, and writes the ledger rows
and outcome rows of the allowed ones. A blocked text writes nothing but its budget event.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import polars as pl
import sqlalchemy as sa

from teei_pipelines.defs.q2q import store
from teei_pipelines.domain import q2q
from teei_pipelines.pgio import query

CHUNK = 500


@dataclass
class EvidenceReport:
    texts: int = 0
    classified: int = 0
    outcome_rows: int = 0
    no_text: int = 0
    no_dimension: int = 0
    already_classified: int = 0
    budget_blocked: int = 0
    unknown_sessions: list[str] = field(default_factory=list)
    charged_usd: str = "0"
    cache_hits: int = 0
    cache_misses: int = 0
    tenants: int = 0
    dimensions: dict[str, int] = field(default_factory=dict)
    blocked_reasons: dict[str, str] = field(default_factory=dict)
    # the texts this run wrote to the ledger, for the ledger check (too long for run metadata)
    classified_text_ids: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """The report without the classified ids: the run's metadata."""
        return {key: value for key, value in asdict(self).items() if key != "classified_text_ids"}


def load_texts(
    connection: sa.Connection, session_ids: Sequence[str], feedback_texts: Mapping[str, str], limit: int
) -> pl.DataFrame:
    rows = connection.execute(
        sa.text(query("q2q/evidence_texts")),
        {
            "session_ids": list(session_ids),
            "text_type": q2q.TEXT_TYPE,
            "model_version": q2q.MODEL_VERSION,
            "limit": limit,
        },
    ).all()
    frame = pl.DataFrame(
        [dict(row._mapping) for row in rows],
        schema={"text_id": pl.String, "user_id": pl.String, "company_id": pl.String, "text": pl.String},
        orient="row",
    )
    # A rating's own feedbackText wins when it is not blank (§5 "Text").
    overrides = pl.DataFrame(
        {"text_id": list(feedback_texts), "_override": list(feedback_texts.values())},
        schema={"text_id": pl.String, "_override": pl.String},
    ).filter(pl.col("_override").str.strip_chars() != "")
    return (
        frame.join(overrides, on="text_id", how="left")
        .with_columns(pl.coalesce("_override", "text").str.slice(0, q2q.MAX_TEXT_CHARS).alias("text"))
        .drop("_override")
        .with_columns(pl.col("company_id").fill_null(store.default_tenant()).alias("tenant_id"))
    )


def extract_evidence(
    engine: sa.Engine,
    *,
    today: date,
    session_ids: Sequence[str] = (),
    feedback_texts: Mapping[str, str] | None = None,
    limit: int = 100_000,
    run_id: str | None = None,
) -> EvidenceReport:
    """Classify the named sessions (or the backlog) and store the results; see the module docstring."""
    report = EvidenceReport()
    with engine.begin() as connection:
        texts = load_texts(connection, session_ids, feedback_texts or {}, limit)
        taxonomy = store.read_taxonomy(connection, run_id)
    report.cache_hits, report.cache_misses = taxonomy.hits, taxonomy.misses
    report.unknown_sessions = sorted(set(session_ids) - set(texts["text_id"]))
    report.texts = texts.height

    blank = texts["text"].is_null() | (texts["text"].str.strip_chars() == "")
    report.no_text = int(blank.sum())
    texts = texts.filter(~blank)
    scores = q2q.classify_frame(texts.select("text_id", "text"), taxonomy.taxonomy)
    scores_by_text = scores.partition_by("text_id", as_dict=True, include_key=True)

    charged = Decimal(0)
    dimension_counts: Counter[str] = Counter()
    for (tenant_id,), tenant_texts in texts.partition_by("tenant_id", as_dict=True, maintain_order=True).items():
        report.tenants += 1
        for offset in range(0, tenant_texts.height, CHUNK):
            chunk = tenant_texts.slice(offset, CHUNK)
            with engine.begin() as connection:
                ledger = store.BudgetLedger(connection, tenant_id, today)
                done = {
                    str(text_id)
                    for (text_id,) in connection.execute(
                        sa.text(query("q2q/classified_already")),
                        {
                            "text_ids": chunk["text_id"].to_list(),
                            "text_type": q2q.TEXT_TYPE,
                            "model_version": q2q.MODEL_VERSION,
                        },
                    )
                }
                ledger_rows, outcome_rows = [], []
                for text in chunk.iter_rows(named=True):
                    if text["text_id"] in done:
                        report.already_classified += 1
                        continue
                    decision = ledger.charge(text["text_id"], q2q.CLASSIFICATION_COST_USD)
                    if not decision.allowed:
                        report.budget_blocked += 1
                        report.blocked_reasons[tenant_id] = decision.reason or ""
                        continue
                    charged += q2q.CLASSIFICATION_COST_USD
                    text_scores = scores_by_text.get((text["text_id"],))
                    dimensions = [] if text_scores is None else text_scores.to_dicts()
                    if not dimensions:
                        report.no_dimension += 1
                    ledger_rows.append(
                        {
                            "text_id": text["text_id"],
                            "text_type": q2q.TEXT_TYPE,
                            "model_version": q2q.MODEL_VERSION,
                            "tenant_id": tenant_id,
                            "cost_usd": q2q.CLASSIFICATION_COST_USD,
                            "dimensions_scored": len(dimensions),
                            "text_sha256": q2q.text_sha256(text["text"]),
                        }
                    )
                    for score in dimensions:
                        dimension_counts[score["dimension"]] += 1
                        outcome_rows.append(
                            {
                                "user_id": text["user_id"],
                                "company_id": text["company_id"],
                                "text_id": text["text_id"],
                                "text_type": q2q.TEXT_TYPE,
                                "dimension": score["dimension"],
                                "score": score["score"],
                                "confidence": score["confidence"],
                                "model_version": q2q.MODEL_VERSION,
                                "topics": json.dumps(score["topics"]),
                            }
                        )
                ledger.save()
                if ledger_rows:
                    connection.execute(sa.text(query("q2q/classification_insert")), ledger_rows)
                if outcome_rows:
                    connection.execute(sa.text(query("q2q/outcome_insert")), outcome_rows)
                report.classified += len(ledger_rows)
                report.classified_text_ids.extend(row["text_id"] for row in ledger_rows)
                report.outcome_rows += len(outcome_rows)
    report.charged_usd = str(charged)
    report.dimensions = dict(sorted(dimension_counts.items()))
    return report
