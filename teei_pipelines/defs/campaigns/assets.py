"""The four hourly campaign jobs as assets (campaigns.md §2-§7).

Each asset reads its campaigns with one query, applies the pure rules of `teei_pipelines.domain.campaigns`, and
writes with set-based statements. A campaign whose rule or row fails is recorded as {campaignId, error} and the
others are still written; the `<asset>_no_campaign_errors` check (WARN) turns red when that list is not empty.
"""

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import dagster as dg
import sqlalchemy as sa
from pydantic import Field

from teei_pipelines.defs.common import CAMPAIGNS as CAMPAIGNS_SOURCE
from teei_pipelines.defs.common import IO_RETRY, KINTELL_SESSIONS
from teei_pipelines.domain import campaigns as rules
from teei_pipelines.domain.events import campaign_status_changed_msg_id
from teei_pipelines.domain.rounding import fixed
from teei_pipelines.notify import enqueue_email
from teei_pipelines.outbox import relay_outbox, write_event
from teei_pipelines.pgio import query
from teei_pipelines.resources.nats import NatsResource
from teei_pipelines.resources.postgres import PostgresResource
from teei_pipelines.settings import alert_recipients, env, partition_start

HOURLY = dg.HourlyPartitionsDefinition(start_date=f"{partition_start().isoformat()}-00:00", timezone="UTC")
LIFECYCLE = dg.AssetKey(["campaigns", "lifecycle"])
METRICS = dg.AssetKey(["campaigns", "metrics"])
SNAPSHOTS = dg.AssetKey(["campaigns", "metrics_snapshots"])
SEAT_USAGE = dg.AssetKey(["campaigns", "seat_usage"])
CREDIT_USAGE = dg.AssetKey(["campaigns", "credit_usage"])
OWNERS = ["team:campaigns"]
SLOW_RUN_MS = 300_000
NUMERIC_8_4_LIMIT = Decimal("10000")  # capacity_utilization is numeric(8,4)


def hourly_freshness() -> dg.FreshnessPolicy:
    return dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=2), warn_window=timedelta(minutes=90))


def no_errors_check(asset: dg.AssetKey) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        f"{asset.path[-1]}_no_campaign_errors",
        asset=asset,
        description="Every selected campaign was processed; a failing campaign is listed with its id and error.",
    )


def errors_check(asset: dg.AssetKey, errors: Sequence[dict]) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=f"{asset.path[-1]}_no_campaign_errors",
        passed=not errors,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"errors": dg.MetadataValue.json(list(errors)), "error_count": len(errors)},
    )


def campaign_asset(key: dg.AssetKey, description: str, deps: list, kinds: frozenset[str] = frozenset({"postgres"})):
    """The shared shape of the hourly campaign assets: partitions, retries, freshness, pool, the errors check."""
    return dg.asset(
        key=key,
        description=description,
        partitions_def=HOURLY,
        deps=deps,
        check_specs=[no_errors_check(key)],
        retry_policy=IO_RETRY,
        freshness_policy=hourly_freshness(),
        pool="postgres",
        group_name="campaigns",
        kinds=set(kinds),
        owners=OWNERS,
    )


def stale_skip(context: dg.AssetExecutionContext, asset: dg.AssetKey, window: "Window", now: datetime, counter: str):
    """The guard's result for a stale partition (campaigns.md §2), or None when the partition may be written."""
    stale = stale_partition(window, now)
    if stale is None:
        return None
    context.log.info("skipped: %s", stale)
    return dg.MaterializeResult(
        metadata={"skipped": "stale_partition", "reason": stale, counter: 0},
        check_results=[errors_check(asset, [])],
    )


@dataclass
class Window:
    """Partition H covers [start, end); T = end is its evaluation instant (campaigns.md §2)."""

    key: str
    start: datetime
    end: datetime

    @classmethod
    def of(cls, context: dg.AssetExecutionContext) -> "Window":
        window = context.partition_time_window
        return cls(context.partition_key, window.start.astimezone(UTC), window.end.astimezone(UTC))

    @property
    def hour_key(self) -> str:
        return self.start.strftime("%Y-%m-%dT%H")


def stale_partition(window: Window, now: datetime) -> str | None:
    """campaigns.md §2 guard for current-state assets; None when the partition may be written."""
    raw = env("CAMPAIGN_BACKFILL_MAX_LAG_HOURS", "2").strip().lower()
    if raw == "off":
        return None
    try:
        lag = float(raw)
    except ValueError:
        raise dg.Failure(
            description=f"configuration error: CAMPAIGN_BACKFILL_MAX_LAG_HOURS: {raw!r} is not a number or 'off'",
            allow_retries=False,
        ) from None
    if window.end < now - timedelta(hours=lag):
        return f"T={window.end.isoformat()} is more than {lag:g} h before now; set CAMPAIGN_BACKFILL_MAX_LAG_HOURS=off"
    return None


@dataclass
class Outcome:
    errors: list[dict] = field(default_factory=list)

    def isolate(self, campaign_id: str, action: Callable[[], Any]) -> Any:
        try:
            return action()
        except Exception as exc:
            self.errors.append({"campaignId": campaign_id, "error": f"{type(exc).__name__}: {exc}"})
            return None


def rows(connection: sa.Connection, name: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    return [dict(row) for row in connection.execute(sa.text(query(name)), params or {}).mappings().all()]


_USAGE_FIELDS = {
    "company_ids": "company_id",
    "event_types": "event_type",
    "quantities": "quantity",
    "dedup_keys": "dedup_key",
    "period_starts": "period_start",
    "metadata": "metadata",
    "campaign_ids": "campaign_id",
    "campaign_event_types": "campaign_event_type",
}


def insert_usage_records(connection: sa.Connection, records: Sequence[dict]) -> int:
    """Insert billing usage records in one statement; returns how many were new (the rest were duplicates)."""
    if not records:
        return 0
    params = {array: [record[field] for record in records] for array, field in _USAGE_FIELDS.items()}
    return len(connection.execute(sa.text(query("campaigns/usage_insert")), params).all())


# Job A ------------------------------------------------------------------------------------------------------------
class LifecycleConfig(dg.Config):
    dry_run: bool = Field(default=False, description="evaluate and report, change nothing")


def transition_campaign(connection: sa.Connection, campaign: dict, target: str, reason: str, window: Window) -> bool:
    """One conditional step plus its outbox event, in the caller's transaction. False on a concurrent change."""
    updated = connection.execute(
        sa.text(query("campaigns/transition")),
        {"id": campaign["id"], "from_status": campaign["status"], "to_status": target},
    ).first()
    if updated is None:
        return False
    data = {
        "campaignId": str(campaign["id"]),
        "campaignName": campaign["name"],
        "companyId": str(campaign["company_id"]),
        "previousStatus": campaign["status"],
        "newStatus": target,
        "reason": reason,
        "triggeredBy": "automatic",
        "effectiveAt": window.end.isoformat(),
        "transitionedAt": updated.transitioned_at.astimezone(UTC).isoformat(),
        "partitionKey": window.key,
    }
    msg_id = campaign_status_changed_msg_id(str(campaign["id"]), target, window.key)
    write_event(connection, "campaign.status.changed", msg_id, data)
    return True


@campaign_asset(
    LIFECYCLE,
    (
        "Date-based auto-transition (campaigns.md §3): planned|recruiting → active on the start date, active → "
        "completed on the end date, one step per campaign per partition, each in its own transaction with its "
        "campaign.status.changed outbox event; the outbox is then relayed to JetStream."
    ),
    deps=[CAMPAIGNS_SOURCE],
    kinds={"postgres", "nats"},
)
def lifecycle(
    context: dg.AssetExecutionContext, config: LifecycleConfig, postgres: PostgresResource, nats: NatsResource
) -> dg.MaterializeResult:
    window = Window.of(context)
    with postgres.connect() as connection:
        candidates = rows(connection, "campaigns/lifecycle_candidates", {"as_of_date": window.end.date()})
    outcome, transitions, concurrent = Outcome(), [], 0
    for campaign in candidates:
        decision = rules.auto_transition_target(
            campaign["status"], campaign["start_date"], campaign["end_date"], window.end
        )
        if decision is None:
            continue
        target, reason = decision
        record = {
            "campaignId": str(campaign["id"]),
            "campaignName": campaign["name"],
            "from": campaign["status"],
            "to": target,
            "reason": reason,
        }
        if config.dry_run:
            transitions.append(record)
            continue

        def apply(campaign=campaign, target=target, reason=reason) -> bool:
            with postgres.begin() as connection:
                return transition_campaign(connection, campaign, target, reason, window)

        applied = outcome.isolate(str(campaign["id"]), apply)
        if applied:
            transitions.append(record)
        elif applied is False:
            concurrent += 1
    relay = None if config.dry_run else relay_outbox(postgres.engine, nats)
    if relay is not None and relay.error:
        context.log.warning("outbox relay could not reach NATS (%s); the receiver's relay will retry", relay.error)
    metadata = {
        "campaignsChecked": len(candidates),
        "campaignsTransitioned": 0 if config.dry_run else len(transitions),
        "transitions": dg.MetadataValue.json(transitions),
        "concurrentChangesSkipped": concurrent,
        "dryRun": config.dry_run,
        "eventsPublished": relay.published if relay else 0,
        "errors": dg.MetadataValue.json(outcome.errors),
    }
    return dg.MaterializeResult(metadata=metadata, check_results=[errors_check(LIFECYCLE, outcome.errors)])


# Job D, part 1 ----------------------------------------------------------------------------------------------------
def _fits_numeric_8_4(value: Decimal | None) -> None:
    if value is not None and abs(value) >= NUMERIC_8_4_LIMIT:
        raise ValueError(f"capacity_utilization {value} overflows numeric(8,4)")


def load_metrics_inputs(connection: sa.Connection) -> tuple[list[dict], list[dict]]:
    campaigns = rows(connection, "campaigns/metrics_campaigns", {"campaign_id": None})
    instances = rows(connection, "campaigns/metrics_instances", {"campaign_ids": [c["id"] for c in campaigns]})
    return campaigns, instances


def by_campaign(instances: Sequence[dict]) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    for row in instances:
        grouped.setdefault(row["campaign_id"], []).append(row)
    return grouped


def compute_rollups(campaigns: Sequence[dict], instances: Sequence[dict], outcome: Outcome) -> dict[str, dict]:
    grouped = by_campaign(instances)
    rollups: dict[str, dict] = {}
    for campaign in campaigns:

        def rollup(campaign=campaign) -> dict:
            result = rules.aggregate_instances(campaign, grouped.get(campaign["id"], []))
            _fits_numeric_8_4(result["capacity_utilization"])
            return result

        result = outcome.isolate(campaign["id"], rollup)
        if result is not None:
            rollups[campaign["id"]] = result
    return rollups


_ROLLUP_COLUMNS = (
    "current_volunteers",
    "current_beneficiaries",
    "current_sessions",
    "total_hours_logged",
    "cumulative_sroi",
    "average_vis",
    "capacity_utilization",
    "is_near_capacity",
    "is_over_capacity",
)


def write_rollups(connection: sa.Connection, rollups: dict[str, dict]) -> None:
    params = {"ids": list(rollups)}
    for column in _ROLLUP_COLUMNS:
        params[column] = [rollup[column] for rollup in rollups.values()]
    connection.execute(sa.text(query("campaigns/metrics_update")), params)


def write_rollups_isolated(postgres: PostgresResource, rollups: dict[str, dict], outcome: Outcome) -> int:
    """One statement for all; if the database refuses it, one per campaign so only the bad row fails."""
    try:
        with postgres.begin() as connection:
            write_rollups(connection, rollups)
        return len(rollups)
    except sa.exc.DBAPIError:
        written = 0
        for campaign_id, rollup in rollups.items():

            def one(campaign_id=campaign_id, rollup=rollup) -> bool:
                with postgres.begin() as connection:
                    write_rollups(connection, {campaign_id: rollup})
                return True

            written += bool(outcome.isolate(campaign_id, one))
        return written


def capacity_alerts(
    connection: sa.Connection, campaigns: Sequence[dict], rollups: dict[str, dict], window: Window
) -> list[dict]:
    """Insert one row (and its notifications) per upward band crossing, honouring each band's throttle."""
    recent = rows(
        connection,
        "campaigns/recent_alerts",
        {"campaign_ids": list(rollups), "since": window.end - timedelta(hours=24)},
    )
    created = []
    for campaign in campaigns:
        rollup = rollups.get(campaign["id"])
        if rollup is None or campaign["status"] not in rules.ALERTING_STATUSES:
            continue
        for band in rules.crossed_bands(campaign["capacity_utilization"], rollup["utilization"]):
            throttled = any(
                row["campaign_id"] == campaign["id"]
                and abs(row["threshold"] - band.threshold) < 1e-9
                and row["created_at"] > window.end - timedelta(hours=band.throttle_hours)
                for row in recent
            )
            if throttled:
                continue
            dedup_key = f"capacity:{campaign['id']}:{band.band}:{window.key}"
            percent = fixed(rollup["utilization"] * 100, 1)
            payload = {
                "campaignId": campaign["id"],
                "campaignName": campaign["name"],
                "companyId": campaign["company_id"],
                "band": band.band,
                "severity": band.severity,
                "utilizationPercent": str(percent),
                "recipients": list(band.recipients),
            }
            notification_ids = enqueue_email(
                connection,
                template_id=band.template,
                subject="Campaign {{campaignName}} at {{utilizationPercent}}% capacity",
                payload=payload,
                dedup_key=dedup_key,
                recipients=alert_recipients(),
                company_id=campaign["company_id"],
            )
            inserted = connection.execute(
                sa.text(query("campaigns/alert_insert")),
                {
                    "campaign_id": campaign["id"],
                    "alert_type": "capacity",
                    "threshold": band.threshold,
                    "band": band.band,
                    "severity": band.severity,
                    "utilization": rollup["capacity_utilization"],
                    "utilization_percent": percent,
                    "recipients": json.dumps(list(band.recipients)),
                    "metadata": json.dumps({**band.metadata, "priority": band.priority, "template": band.template}),
                    "partition_key": window.key,
                    "dedup_key": dedup_key,
                    "notification_id": notification_ids[0] if notification_ids else None,
                },
            ).first()
            if inserted is not None:
                created.append({"campaignId": campaign["id"], "band": band.band, "severity": band.severity})
    return created


@campaign_asset(
    METRICS,
    (
        "Campaign rollups from program_instances (campaigns.md §4): volunteers, beneficiaries, sessions, hours, "
        "weighted SROI, average VIS, and capacity u = max(volunteer, beneficiary) utilization with flags set and "
        "cleared; one capacity_alerts row (plus e-mails) per upward crossing of 80/90/100/110 %."
    ),
    deps=[LIFECYCLE, dg.AssetKey(["impact", "program_instance_vis"]), CAMPAIGNS_SOURCE],
)
def metrics(context: dg.AssetExecutionContext, postgres: PostgresResource) -> dg.MaterializeResult:
    started = time.perf_counter()
    window = Window.of(context)
    outcome = Outcome()
    with postgres.connect() as connection:
        campaigns, instances = load_metrics_inputs(connection)
    rollups = compute_rollups(campaigns, instances, outcome)
    # Alerts first: they compare with capacity_utilization *before* this run's UPDATE, so a retry after a failed
    # write sees the same crossings, and their dedup keys make the second insert a no-op.
    with postgres.begin() as connection:
        alerts = capacity_alerts(connection, campaigns, rollups, window)
    written = write_rollups_isolated(postgres, rollups, outcome)
    duration_ms = (time.perf_counter() - started) * 1000
    metadata = {
        "campaignsProcessed": len(campaigns),
        "campaignsUpdated": written,
        "instancesRead": len(instances),
        "capacityAlerts": dg.MetadataValue.json(alerts),
        "nearCapacity": sum(r["is_near_capacity"] for r in rollups.values()),
        "overCapacity": sum(r["is_over_capacity"] for r in rollups.values()),
        "durationMs": round(duration_ms),
        "slow_run": duration_ms > SLOW_RUN_MS,
        "errors": dg.MetadataValue.json(outcome.errors),
    }
    return dg.MaterializeResult(metadata=metadata, check_results=[errors_check(METRICS, outcome.errors)])


# Job D, part 2 ----------------------------------------------------------------------------------------------------
def snapshot_params(row: dict) -> dict:
    return {**row, "full_snapshot": json.dumps(row["full_snapshot"], default=str)}


def take_snapshots(
    postgres: PostgresResource,
    campaigns: Sequence[dict],
    instances: Sequence[dict],
    snapshot_date: datetime,
    outcome: Outcome,
) -> int:
    grouped = by_campaign(instances)
    built = [
        row
        for campaign in campaigns
        if (
            row := outcome.isolate(
                campaign["id"], lambda c=campaign: rules.build_snapshot(c, grouped.get(c["id"], []), snapshot_date)
            )
        )
        is not None
    ]
    if not built:
        return 0
    try:
        with postgres.begin() as connection:
            connection.execute(sa.text(query("campaigns/snapshot_upsert")), [snapshot_params(r) for r in built])
        return len(built)
    except sa.exc.DBAPIError:
        written = 0
        for row in built:

            def one(row=row) -> bool:
                with postgres.begin() as connection:
                    connection.execute(sa.text(query("campaigns/snapshot_upsert")), snapshot_params(row))
                return True

            written += bool(outcome.isolate(row["campaign_id"], one))
        return written


@campaign_asset(
    SNAPSHOTS,
    (
        "campaign_metrics_snapshots (campaigns.md §5): for each refreshed campaign due this hour (1/6/24 h by "
        "status and sessions), a row at snapshot_date = the partition start, upserted on (campaign_id, "
        "snapshot_date). Stale partitions are refused unless CAMPAIGN_BACKFILL_MAX_LAG_HOURS=off."
    ),
    deps=[METRICS],
)
def metrics_snapshots(context: dg.AssetExecutionContext, postgres: PostgresResource) -> dg.MaterializeResult:
    window = Window.of(context)
    captured_at = datetime.now(UTC)
    skipped = stale_skip(context, SNAPSHOTS, window, captured_at, "snapshotsWritten")
    if skipped is not None:
        return skipped
    outcome = Outcome()
    with postgres.connect() as connection:
        campaigns, instances = load_metrics_inputs(connection)
    due = [c for c in campaigns if rules.snapshot_due(c["status"], c["current_sessions"], window.start.hour)]
    written = take_snapshots(postgres, due, instances, window.start, outcome)
    metadata = {
        "campaignsRefreshed": len(campaigns),
        "campaignsDue": len(due),
        "snapshotsWritten": written,
        "snapshot_date": window.start.isoformat(),
        "captured_at": captured_at.isoformat(),
        "errors": dg.MetadataValue.json(outcome.errors),
    }
    return dg.MaterializeResult(metadata=metadata, check_results=[errors_check(SNAPSHOTS, outcome.errors)])


# Job B ------------------------------------------------------------------------------------------------------------
@campaign_asset(
    SEAT_USAGE,
    (
        "billing_usage_records active_seats (campaigns.md §6): one record per active/recruiting campaign with "
        "volunteers per hour, quantity = current_volunteers, dedup key campaign:<id>:seat_usage:<YYYY-MM-DDTHH>. "
        "Stale partitions are refused unless CAMPAIGN_BACKFILL_MAX_LAG_HOURS=off."
    ),
    deps=[METRICS],
)
def seat_usage(context: dg.AssetExecutionContext, postgres: PostgresResource) -> dg.MaterializeResult:
    window = Window.of(context)
    captured_at = datetime.now(UTC)
    skipped = stale_skip(context, SEAT_USAGE, window, captured_at, "usageRecordsCreated")
    if skipped is not None:
        return skipped
    with postgres.connect() as connection:
        campaigns = rows(connection, "campaigns/seat_campaigns")
    records = []
    for campaign in campaigns:
        target = campaign["target_volunteers"] or 0
        metadata = {
            "campaignId": campaign["id"],
            "campaignEventType": "seat_usage",
            "campaignName": campaign["name"],
            "pricingModel": campaign["pricing_model"],
            "targetVolunteers": target,
            "utilizationPercent": campaign["current_volunteers"] / target * 100 if target > 0 else None,
            "partitionKey": window.key,
            "runId": context.run_id,
        }
        if campaign["pricing_model"] == "bundle":
            metadata["l2iSubscriptionId"] = campaign["l2i_subscription_id"]
        records.append(
            {
                "company_id": campaign["company_id"],
                "event_type": "active_seats",
                "quantity": campaign["current_volunteers"],
                "dedup_key": f"campaign:{campaign['id']}:seat_usage:{window.hour_key}",
                "period_start": window.start,
                "metadata": json.dumps(metadata),
                "campaign_id": campaign["id"],
                "campaign_event_type": "seat_usage",
            }
        )
    with postgres.begin() as connection:
        created = insert_usage_records(connection, records)
    metadata = {
        "campaignsProcessed": len(campaigns),
        "usageRecordsCreated": created,
        "duplicatesDetected": len(records) - created,
        "captured_at": captured_at.isoformat(),
        "errors": dg.MetadataValue.json([]),
    }
    return dg.MaterializeResult(metadata=metadata, check_results=[errors_check(SEAT_USAGE, [])])


# Job C ------------------------------------------------------------------------------------------------------------
def _same_metadata(stored: dict | None, fresh: dict) -> bool:
    """Compare record metadata ignoring runId, so re-running a partition writes nothing new."""
    if stored is None:
        return False
    return {k: v for k, v in stored.items() if k != "runId"} == {k: v for k, v in fresh.items() if k != "runId"}


@campaign_asset(
    CREDIT_USAGE,
    (
        "Credit consumption (campaigns.md §7): Kintell minutes completed in the hour, through "
        "program_instances.campaign_id, × rate / 60, half-up; a storage_gb record filtered by campaign_event_type "
        "credit_usage; credits_remaining recomputed from all records; a low-credit alert below 10 % (0 and "
        "negative included), at most one per campaign per UTC day."
    ),
    deps=[LIFECYCLE, KINTELL_SESSIONS],
)
def credit_usage(context: dg.AssetExecutionContext, postgres: PostgresResource) -> dg.MaterializeResult:
    window = Window.of(context)
    outcome = Outcome()
    with postgres.connect() as connection:
        campaigns = rows(connection, "campaigns/credit_campaigns")
        ids = [c["id"] for c in campaigns]
        consumption = {
            row["campaign_id"]: row
            for row in rows(
                connection,
                "campaigns/credit_consumption",
                {"campaign_ids": ids, "period_start": window.start, "period_end": window.end},
            )
        }
        records = rows(connection, "campaigns/credit_records", {"campaign_ids": ids})
    records_by_campaign: dict[str, list[dict]] = {}
    for record in records:
        records_by_campaign.setdefault(record["campaign_id"], []).append(record)
    plans: list[CreditPlan] = []
    remaining_by_campaign: dict[str, int | None] = {}
    alerts: list[dict] = []
    for campaign in campaigns:
        plan = outcome.isolate(
            campaign["id"],
            lambda c=campaign: plan_credit_usage(
                c, consumption.get(c["id"]), records_by_campaign.get(c["id"], []), window, context.run_id
            ),
        )
        if plan is not None:
            plans.append(plan)
            remaining_by_campaign[plan.campaign_id] = plan.remaining
    counts = apply_credit_plans(postgres, plans, outcome)
    blocked = [plan.campaign_id for plan in plans if plan.action == "blocked"]

    with postgres.begin() as connection:
        connection.execute(
            sa.text(query("campaigns/credits_remaining_update")),
            {
                "ids": list(remaining_by_campaign),
                "remaining": list(remaining_by_campaign.values()),
            },
        )
        for campaign in campaigns:
            remaining = remaining_by_campaign.get(campaign["id"])
            if campaign["id"] in remaining_by_campaign and rules.low_credit(campaign["credit_allocation"], remaining):
                alert = outcome.isolate(
                    campaign["id"], lambda c=campaign, r=remaining: low_credit_alert(connection, c, r, window)
                )
                if alert:
                    alerts.append(alert)
    metadata = {
        "campaignsProcessed": len(campaigns),
        "usageRecordsCreated": counts["created"],
        "usageRecordsUpdated": counts["updated"],
        "usageRecordsDeleted": counts["deleted"],
        "duplicatesDetected": counts["duplicates"],
        "late_adjustment_blocked": bool(blocked),
        "lateAdjustmentBlockedCampaigns": dg.MetadataValue.json(blocked),
        "lowCreditAlerts": dg.MetadataValue.json(alerts),
        "errors": dg.MetadataValue.json(outcome.errors),
    }
    return dg.MaterializeResult(metadata=metadata, check_results=[errors_check(CREDIT_USAGE, outcome.errors)])


@dataclass
class CreditPlan:
    """What one campaign's hour needs: insert, update, delete, blocked (already reported) or unchanged."""

    campaign_id: str
    action: str
    remaining: int | None
    record: dict[str, Any] | None = None


def plan_credit_usage(
    campaign: dict, usage: dict | None, own_records: Sequence[dict], window: Window, run_id: str
) -> CreditPlan:
    key = f"campaign:{campaign['id']}:credit_usage:{window.hour_key}"
    existing = next((r for r in own_records if r["deduplication_key"] == key), None)
    others = [r["quantity"] for r in own_records if r["deduplication_key"] != key]
    usage = usage or {"minutes": 0, "sessions": 0}
    credits = rules.credits_for_minutes(usage["minutes"], campaign["credit_consumption_rate"])
    reported = existing is not None and existing["reported_to_stripe"]
    remaining = rules.credits_remaining(
        campaign["credit_allocation"], [*others, existing["quantity"] if reported else credits]
    )
    allocation = campaign["credit_allocation"] or 0
    metadata = {
        "campaignId": campaign["id"],
        "campaignEventType": "credit_usage",
        "campaignName": campaign["name"],
        "source": "kintell_session_minutes",
        "minutes": int(usage["minutes"] or 0),
        "sessionCount": int(usage["sessions"] or 0),
        "creditConsumptionRate": str(campaign["credit_consumption_rate"]),
        "creditsAllocated": campaign["credit_allocation"],
        "creditsRemaining": remaining,
        "utilizationPercent": (allocation - remaining) / allocation * 100 if allocation > 0 else 0,
        "partitionKey": window.key,
        "runId": run_id,
    }
    record = {
        "company_id": campaign["company_id"],
        "event_type": "storage_gb",
        "quantity": credits,
        "dedup_key": key,
        "period_start": window.start,
        "metadata": json.dumps(metadata),
        "campaign_id": campaign["id"],
        "campaign_event_type": "credit_usage",
    }
    if reported:
        action = "blocked" if Decimal(existing["quantity"]) != credits else "unchanged"
    elif credits == 0:
        action = "delete" if existing is not None else "unchanged"
    elif existing is None:
        action = "insert"
    elif Decimal(existing["quantity"]) == credits and _same_metadata(existing["metadata"], metadata):
        action = "unchanged"
    else:
        action = "update"
    return CreditPlan(campaign["id"], action, remaining, record)


def _apply_credit_batch(connection: sa.Connection, plans: Sequence[CreditPlan]) -> dict[str, int]:
    inserts = [p.record for p in plans if p.action == "insert"]
    updates = [p.record for p in plans if p.action == "update"]
    deletes = [p.record["dedup_key"] for p in plans if p.action == "delete"]
    created = insert_usage_records(connection, inserts)
    if updates:
        connection.execute(
            sa.text(query("campaigns/credit_records_update_many")),
            {
                "dedup_keys": [r["dedup_key"] for r in updates],
                "quantities": [r["quantity"] for r in updates],
                "metadata": [r["metadata"] for r in updates],
            },
        )
    if deletes:
        connection.execute(sa.text(query("campaigns/credit_records_delete_many")), {"dedup_keys": deletes})
    return {"created": created, "duplicates": len(inserts) - created, "updated": len(updates), "deleted": len(deletes)}


def apply_credit_plans(postgres: PostgresResource, plans: Sequence[CreditPlan], outcome: Outcome) -> dict[str, int]:
    """All writes in one transaction; if the database refuses the batch, campaign by campaign."""
    try:
        with postgres.begin() as connection:
            return _apply_credit_batch(connection, plans)
    except sa.exc.DBAPIError:
        totals = dict.fromkeys(("created", "duplicates", "updated", "deleted"), 0)
        for plan in plans:

            def one(plan=plan) -> dict[str, int]:
                with postgres.begin() as connection:
                    return _apply_credit_batch(connection, [plan])

            counts = outcome.isolate(plan.campaign_id, one) or {}
            for name, value in counts.items():
                totals[name] += value
        return totals


def low_credit_alert(connection: sa.Connection, campaign: dict, remaining: int, window: Window) -> dict | None:
    allocation = int(campaign["credit_allocation"])
    dedup_key = f"low_credit:{campaign['id']}:{window.start.date().isoformat()}"
    remaining_ratio = Decimal(remaining) / Decimal(allocation)
    payload = {
        "campaignId": campaign["id"],
        "campaignName": campaign["name"],
        "creditsRemaining": remaining,
        "creditAllocation": allocation,
        "remainingPercent": str(fixed(float(remaining_ratio) * 100, 1)),
    }
    notification_ids = enqueue_email(
        connection,
        template_id="campaign-low-credits",
        subject="Low credits: {{campaignName}} has {{creditsRemaining}} of {{creditAllocation}} credits left",
        payload=payload,
        dedup_key=dedup_key,
        recipients=alert_recipients(),
        company_id=campaign["company_id"],
    )
    inserted = connection.execute(
        sa.text(query("campaigns/alert_insert")),
        {
            "campaign_id": campaign["id"],
            "alert_type": "low_credit",
            "threshold": Decimal("0.10"),
            "band": "10%",
            "severity": "warning",
            "utilization": remaining_ratio.quantize(Decimal("0.0001")),
            "utilization_percent": (remaining_ratio * 100).quantize(Decimal("0.01")),
            "recipients": json.dumps(["company_admin", "cs"]),
            "metadata": json.dumps({"template": "campaign-low-credits", "priority": "normal"}),
            "partition_key": window.key,
            "dedup_key": dedup_key,
            "notification_id": notification_ids[0] if notification_ids else None,
        },
    ).first()
    return {"campaignId": campaign["id"], "creditsRemaining": remaining} if inserted is not None else None
