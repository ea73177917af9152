"""Q2Q state in PostgreSQL (q2q-synthetics.md §1-§4): the budget check-and-charge under row locks, budget alerts,
and the taxonomy read through q2q_cache. Every function takes the caller's connection, so the charge commits or
rolls back with the results it pays for.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from teei_pipelines.domain import q2q
from teei_pipelines.domain.templates import CATALOGUE
from teei_pipelines.notify import enqueue_email
from teei_pipelines.pgio import query
from teei_pipelines.settings import alert_recipients, env, env_int

ALERTED_EVENTS = ("warning", "blocked")


def default_tenant() -> str:
    return env("Q2Q_DEFAULT_TENANT", "platform")


def default_monthly_budget() -> Decimal:
    return Decimal(env("Q2Q_DEFAULT_MONTHLY_BUDGET_USD", "1000"))


def cache_ttl_seconds() -> int:
    return env_int("Q2Q_CACHE_TTL_SECONDS", 86_400, minimum=1)


@dataclass(frozen=True)
class Budget:
    monthly: Decimal
    daily: Decimal
    allow_override: bool


def tenant_budget(connection: sa.Connection, tenant_id: str) -> Budget:
    row = connection.execute(sa.text(query("q2q/budget_config")), {"tenant_id": tenant_id}).first()
    if row is None:
        monthly = default_monthly_budget()
        return Budget(monthly, q2q.daily_budget(monthly, None), False)
    return Budget(
        row.monthly_budget_usd, q2q.daily_budget(row.monthly_budget_usd, row.daily_budget_usd), row.allow_override
    )


class BudgetLedger:
    """A tenant's two usage rows (this month, today), created if missing and locked FOR UPDATE, monthly first, so
    concurrent chargers of a tenant queue behind each other and can never overspend (§2). Charge any number of
    requests in memory, then `save()` writes the rows, the events and the alerts inside the caller's transaction.
    """

    def __init__(self, connection: sa.Connection, tenant_id: str, today: date) -> None:
        self.connection = connection
        self.tenant_id = tenant_id
        self.budget = tenant_budget(connection, tenant_id)
        periods = q2q.period_starts(today)
        keys = {"tenant_id": tenant_id, "month_start": periods["monthly"], "day_start": periods["daily"]}
        connection.execute(sa.text(query("q2q/usage_ensure")), keys)
        locked = {row.window: row for row in connection.execute(sa.text(query("q2q/usage_lock")), keys)}
        self.rows = {
            window: q2q.UsageRow(
                window,
                periods[window],
                self.budget.monthly if window == "monthly" else self.budget.daily,
                locked[window].spent_usd,
                list(locked[window].warned_thresholds),
            )
            for window in ("monthly", "daily")
        }
        self.events: list[q2q.BudgetEvent] = []

    def charge(self, request_id: str, cost: Decimal) -> q2q.ChargeDecision:
        decision = q2q.check_and_charge(
            self.rows["monthly"],
            self.rows["daily"],
            cost,
            allow_override=self.budget.allow_override,
            request_id=request_id,
        )
        self.events.extend(decision.events)
        return decision

    def save(self) -> None:
        self.connection.execute(
            sa.text(query("q2q/usage_update")),
            [
                {
                    "tenant_id": self.tenant_id,
                    "window": row.window,
                    "period_start": row.period_start,
                    "spent_usd": row.spent,
                    "warned_thresholds": row.warned,
                }
                for row in self.rows.values()
            ],
        )
        record_events(self.connection, self.tenant_id, self.events)
        self.events = []


def check_and_charge(
    connection: sa.Connection, tenant_id: str, cost: Decimal, request_id: str, today: date
) -> q2q.ChargeDecision:
    """q2q_check_and_charge(tenant, cost, request_id) for one request, in the caller's transaction."""
    ledger = BudgetLedger(connection, tenant_id, today)
    decision = ledger.charge(request_id, cost)
    ledger.save()
    return decision


def record_events(connection: sa.Connection, tenant_id: str, events: Sequence[q2q.BudgetEvent]) -> None:
    """q2q_budget_events rows; warnings and blocks also enqueue q2q-budget-alert, once per (tenant, window, period,
    event, threshold) through the dedup key, so only the first block of a period alerts."""
    if not events:
        return
    connection.execute(
        sa.text(query("q2q/budget_event_insert")),
        [
            {
                "tenant_id": tenant_id,
                "window": event.window,
                "period_start": event.period_start,
                "event_type": event.event_type,
                "threshold": event.threshold,
                "budget_usd": event.budget,
                "spent_usd": event.spent,
                "request_id": event.request_id,
                "reason": event.reason,
            }
            for event in events
        ],
    )
    for event in events:
        if event.event_type not in ALERTED_EVENTS:
            continue
        threshold = "" if event.threshold is None else str(event.threshold)
        enqueue_email(
            connection,
            template_id="q2q-budget-alert",
            subject=CATALOGUE["q2q-budget-alert"],
            payload={
                "tenantId": tenant_id,
                "window": event.window,
                "eventType": event.event_type,
                "threshold": event.threshold,
                "budgetUsd": str(event.budget),
                "spentUsd": str(event.spent),
                "utilizationPercent": str(q2q.utilization_percent(event.spent, event.budget).quantize(Decimal("0.1"))),
            },
            dedup_key=f"q2q:{tenant_id}:{event.window}:{event.period_start}:{event.event_type}:{threshold}",
            recipients=alert_recipients(),
        )


# ---------------------------------------------------------------------------------------------------------------
# The cache (§4)


@dataclass(frozen=True)
class CacheEntry:
    key: str
    kind: str
    value: dict


def cache_entries() -> list[CacheEntry]:
    """The warm-up tasks, highest priority first: the five prompts (100), then the five taxonomy keys (90)."""
    prompts = [
        CacheEntry(f"prompt:common:{index}", "prompt", {"prompt": prompt, "precomputed": True})
        for index, prompt in enumerate(q2q.PROMPTS)
    ]
    taxonomy = [
        CacheEntry(f"taxonomy:{dimension.key}", "taxonomy", q2q.taxonomy_cache_value(dimension))
        for dimension in q2q.TAXONOMY
    ]
    return prompts + taxonomy


def cache_put(connection: sa.Connection, entry: CacheEntry, run_id: str | None) -> None:
    connection.execute(
        sa.text(query("q2q/cache_upsert")),
        {
            "key": entry.key,
            "kind": entry.kind,
            "value": json.dumps(entry.value),
            "ttl_seconds": cache_ttl_seconds(),
            "warm_run_id": run_id,
        },
    )


@dataclass(frozen=True)
class TaxonomyRead:
    taxonomy: tuple[q2q.Dimension, ...]
    hits: int
    misses: int


def read_taxonomy(connection: sa.Connection, run_id: str | None = None) -> TaxonomyRead:
    """The taxonomy through the cache: a hit is read back from q2q_cache, a miss (absent or expired) computes the
    taxonomy-v1 entry and stores it. The values equal the constant either way."""
    entries = {entry.key: entry for entry in cache_entries() if entry.kind == "taxonomy"}
    cached = dict(connection.execute(sa.text(query("q2q/cache_read")), {"keys": list(entries)}).all())
    dimensions = []
    for key, entry in entries.items():
        if key not in cached:
            cache_put(connection, entry, run_id)
        dimensions.append(q2q.dimension_from_cache(key.removeprefix("taxonomy:"), cached.get(key, entry.value)))
    return TaxonomyRead(tuple(dimensions), hits=len(cached), misses=len(entries) - len(cached))
