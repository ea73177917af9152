"""Q2Q assets (q2q-synthetics.md §3-§5): evidence extraction, the cache warmer, and budget periods."""

import time
from datetime import UTC, date, datetime, timedelta

import dagster as dg
import sqlalchemy as sa
from pydantic import Field

from teei_pipelines.defs.common import IO_RETRY, KINTELL_SESSIONS, daily_partitions, freshness_daily, violations_check
from teei_pipelines.defs.q2q import store
from teei_pipelines.defs.q2q.evidence import extract_evidence
from teei_pipelines.pgio import query
from teei_pipelines.resources.postgres import PostgresResource
from teei_pipelines.settings import partition_start

EVIDENCE = dg.AssetKey(["q2q", "evidence"])
CACHE = dg.AssetKey(["q2q", "cache"])
BUDGET_DAILY = dg.AssetKey(["q2q", "budget_periods_daily"])
BUDGET_MONTHLY = dg.AssetKey(["q2q", "budget_periods_monthly"])
OWNERS = ["team:q2q"]
DAILY = daily_partitions()
MONTHLY = dg.MonthlyPartitionsDefinition(start_date=partition_start().replace(day=1).isoformat(), timezone="UTC")


class EvidenceConfig(dg.Config):
    session_ids: list[str] = Field(
        default=[],
        description="kintell_sessions ids to classify now (from session.completed / rating.created events, or by "
        "hand; a budget-blocked session is retried only this way). Empty: the backlog of unclassified feedback.",
    )
    feedback_texts: dict[str, str] = Field(
        default={}, description="A rating's own feedbackText per session id; it wins over the session's text."
    )
    limit: int = Field(default=100_000, ge=1, description="At most this many texts per run.")


@dg.asset(
    key=EVIDENCE,
    deps=[KINTELL_SESSIONS.key, CACHE],
    description=(
        "Session feedback → outcome_scores with the deterministic taxonomy-v1 classifier (no LLM); each text "
        "charges 0.0005 USD to its tenant's Q2Q budget in the same transaction, once per session."
    ),
    check_specs=[
        dg.AssetCheckSpec(
            "evidence_ledger_matches_outcomes",
            asset=EVIDENCE,
            description="Every taxonomy-v1 ledger row the run wrote has exactly its dimensions_scored outcome_scores "
            "rows.",
        )
    ],
    retry_policy=IO_RETRY,
    pool="postgres",
    group_name="q2q",
    kinds={"postgres", "polars"},
    owners=OWNERS,
)
def evidence(context: dg.AssetExecutionContext, config: EvidenceConfig, postgres: PostgresResource):
    started = time.monotonic()
    report = extract_evidence(
        postgres.engine,
        today=datetime.now(UTC).date(),
        session_ids=config.session_ids,
        feedback_texts=config.feedback_texts,
        limit=config.limit,
        run_id=context.run.run_id,
    )
    if report.budget_blocked:
        context.log.warning("%d texts blocked by budget: %s", report.budget_blocked, report.blocked_reasons)
    with postgres.connect() as connection:
        mismatched = connection.execute(
            sa.text(query("q2q/check_ledger_outcomes")), {"text_ids": report.classified_text_ids}
        ).scalar_one()
    metadata = {
        key: dg.MetadataValue.json(value) if isinstance(value, dict | list) else value
        for key, value in report.summary().items()
    }
    yield dg.MaterializeResult(metadata={**metadata, "duration_s": round(time.monotonic() - started, 3)})
    yield dg.AssetCheckResult(
        check_name="evidence_ledger_matches_outcomes",
        passed=mismatched == 0,
        metadata={"mismatched_texts": mismatched, "texts_checked": len(report.classified_text_ids)},
    )


@dg.asset(
    key=CACHE,
    description=(
        "Warms q2q_cache before business hours: five common prompts, then the five taxonomy-v1 entries the evidence "
        "extractor reads; expired rows are deleted afterwards."
    ),
    check_specs=[
        dg.AssetCheckSpec(
            "cache_warm", asset=CACHE, description="All ten warm-up keys are in q2q_cache and unexpired after the run."
        )
    ],
    retry_policy=IO_RETRY,
    # weekday mornings: a long weekend is the longest normal gap
    freshness_policy=dg.FreshnessPolicy.time_window(fail_window=timedelta(days=4), warn_window=timedelta(hours=74)),
    pool="postgres",
    group_name="q2q",
    kinds={"postgres"},
    owners=OWNERS,
)
def cache(context: dg.AssetExecutionContext, postgres: PostgresResource) -> dg.MaterializeResult:
    started = time.monotonic()
    failures: dict[str, str] = {}
    entries = store.cache_entries()
    for entry in entries:  # highest priority first; one failing task does not stop the others
        try:
            with postgres.begin() as connection:
                store.cache_put(connection, entry, context.run.run_id)
        except sa.exc.SQLAlchemyError as exc:
            failures[entry.key] = str(exc).splitlines()[0]
    with postgres.begin() as connection:
        expired = connection.execute(sa.text(query("q2q/cache_delete_expired"))).rowcount
    metadata = {
        "tasks": len(entries),
        "succeeded": len(entries) - len(failures),
        "failed": len(failures),
        "expired_deleted": expired,
        "durationMs": round((time.monotonic() - started) * 1000),
    }
    if failures:
        raise dg.Failure(f"{len(failures)} cache warm-up tasks failed", metadata={**metadata, "errors": failures})
    return dg.MaterializeResult(
        metadata=metadata, check_results=[violations_check(postgres, "cache_warm", "q2q/check_cache_warm")]
    )


def open_next_period(postgres: PostgresResource, window: str, closing: date, next_start: date) -> dict:
    """§3: open the next period for every configured or active tenant; report the closing spend."""
    params = {"window": window, "closing_start": closing, "next_start": next_start}
    with postgres.begin() as connection:
        opened = connection.execute(sa.text(query("q2q/period_open")), params).rowcount
        closing_rows = connection.execute(sa.text(query("q2q/period_closing")), params).all()
    return {
        "period_closed": closing.isoformat(),
        "period_opened": next_start.isoformat(),
        "rows_opened": opened,
        "tenants_with_usage": len(closing_rows),
        "closing_spend_usd": dg.MetadataValue.json(
            {
                row.tenant_id: {"spent": str(row.spent_usd), "warned": list(row.warned_thresholds)}
                for row in closing_rows
            }
        ),
        "total_spend_usd": str(sum((row.spent_usd for row in closing_rows), start=0)),
    }


def budget_asset(
    key: dg.AssetKey, partitions: dg.PartitionsDefinition, description: str, freshness: dg.FreshnessPolicy
):
    return dg.asset(
        key=key,
        description=description,
        partitions_def=partitions,
        retry_policy=IO_RETRY,
        freshness_policy=freshness,
        pool="postgres",
        group_name="q2q",
        kinds={"postgres"},
        owners=OWNERS,
        check_specs=[
            dg.AssetCheckSpec(
                f"{key.path[-1]}_no_overspend",
                asset=key,
                description=(
                    "No tenant without allow_override spent more than its current budget in any period "
                    "(a budget lowered after spending also shows here)."
                ),
            )
        ],
    )


def overspend_check(key: dg.AssetKey, postgres: PostgresResource) -> dg.AssetCheckResult:
    with postgres.connect() as connection:
        rows = connection.execute(
            sa.text(query("q2q/check_overspend")), {"default_monthly": store.default_monthly_budget()}
        ).all()
    return dg.AssetCheckResult(
        check_name=f"{key.path[-1]}_no_overspend",
        passed=not rows,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "overspent": dg.MetadataValue.json(
                [
                    {
                        "tenant": r.tenant_id,
                        "window": r.window,
                        "period": str(r.period_start),
                        "spent": str(r.spent_usd),
                    }
                    for r in rows
                ]
            )
        },
    )


@budget_asset(
    BUDGET_DAILY,
    DAILY,
    "Budget reset, daily: after day D ends, opens D+1's daily usage rows (spent 0) and reports D's closing spend.",
    freshness_daily(),
)
def budget_periods_daily(context: dg.AssetExecutionContext, postgres: PostgresResource):
    closing = date.fromisoformat(context.partition_key)
    yield dg.MaterializeResult(metadata=open_next_period(postgres, "daily", closing, closing + timedelta(days=1)))
    yield overspend_check(BUDGET_DAILY, postgres)


@budget_asset(
    BUDGET_MONTHLY,
    MONTHLY,
    "Budget reset, monthly: after month M ends, opens M+1's monthly usage rows and reports M's closing spend.",
    dg.FreshnessPolicy.time_window(fail_window=timedelta(days=33), warn_window=timedelta(days=32)),
)
def budget_periods_monthly(context: dg.AssetExecutionContext, postgres: PostgresResource):
    closing = date.fromisoformat(context.partition_key)
    next_start = (closing.replace(day=28) + timedelta(days=4)).replace(day=1)
    yield dg.MaterializeResult(metadata=open_next_period(postgres, "monthly", closing, next_start))
    yield overspend_check(BUDGET_MONTHLY, postgres)
