"""The four hourly campaign jobs as assets (campaigns.md §2-§7).

Every asset is set-based: a fixed number of statements however many campaigns there are. Metrics and snapshots read
the campaigns and their instances as two Arrow frames, apply the polars rules of `teei_pipelines.domain.campaigns`
to every campaign at once, and write through COPY into a staging table plus one UPDATE or upsert; seat and credit
usage are one SQL statement each. A campaign whose rule or row fails is recorded as {campaignId, error} and the
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
import polars as pl
import sqlalchemy as sa
from pydantic import Field

from teei_pipelines.defs.common import CAMPAIGNS as CAMPAIGNS_SOURCE
from teei_pipelines.defs.common import IO_RETRY, KINTELL_SESSIONS
from teei_pipelines.domain import campaigns as rules
from teei_pipelines.domain.events import campaign_status_changed_msg_id
from teei_pipelines.domain.rounding import fixed
from teei_pipelines.notify import enqueue_email
from teei_pipelines.outbox import relay_outbox, write_event
from teei_pipelines.pgio import copy_in, query, read_frame, statements
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
def load_metrics_frames(
    postgres: PostgresResource, campaign_id: str | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The refreshed campaigns (or the one named) and their instances, each read in one query as Arrow."""
    campaigns = read_frame(postgres.engine, "campaigns/metrics_campaigns_frame", campaign_id=campaign_id)
    instances = read_frame(postgres.engine, "campaigns/metrics_instances_frame", campaign_id=campaign_id)
    return campaigns, instances


def compute_rollups(campaigns: pl.DataFrame, instances: pl.DataFrame, outcome: Outcome) -> pl.DataFrame:
    """The §4 rollup of every campaign at once; a campaign whose utilization overflows numeric(8,4) is reported in
    `outcome` and left out."""
    rollups = rules.aggregate_frame(campaigns, instances)
    overflow = pl.col("capacity_utilization").abs() >= NUMERIC_8_4_LIMIT
    for row in rollups.filter(overflow).select("id", "capacity_utilization").iter_rows():
        outcome.errors.append(
            {"campaignId": row[0], "error": f"ValueError: capacity_utilization {row[1]} overflows numeric(8,4)"}
        )
    return rollups.filter(~overflow)


def write_rollup_frame(connection: sa.Connection, rollups: pl.DataFrame) -> None:
    """Every rollup in one COPY and one UPDATE, in the caller's transaction."""
    for statement in statements("campaigns/rollups_stage"):
        connection.execute(statement)
    copy_in(connection, "campaign_rollups_stage", rollups.select("id", *rules.ROLLUP_COLUMNS))
    connection.execute(sa.text(query("campaigns/metrics_update_from_stage")))


def write_rollups_isolated(postgres: PostgresResource, rollups: pl.DataFrame, outcome: Outcome) -> int:
    """One statement for all; if the database refuses it, one per campaign so only the bad row fails."""
    try:
        with postgres.begin() as connection:
            write_rollup_frame(connection, rollups)
        return rollups.height
    except sa.exc.DBAPIError:
        written = 0
        for index in range(rollups.height):
            rollup = rollups.slice(index, 1)

            def one(rollup=rollup) -> bool:
                with postgres.begin() as connection:
                    write_rollup_frame(connection, rollup)
                return True

            written += bool(outcome.isolate(rollup["id"].item(), one))
        return written


def alert_candidates(campaigns: pl.DataFrame, rollups: pl.DataFrame) -> tuple[list[dict], dict[str, dict]]:
    """The alerting campaigns whose utilization crossed at least one band upwards (campaigns.md §4), as the
    mappings `capacity_alerts` takes; usually none or a handful."""
    previous = pl.col("capacity_utilization").cast(pl.Float64).fill_null(0.0)
    crossed = pl.any_horizontal(
        [(previous < band.threshold) & (pl.col("utilization") >= band.threshold) for band in rules.CAPACITY_BANDS]
    )
    candidates = (
        campaigns.join(
            rollups.select("id", "utilization", pl.col("capacity_utilization").alias("new_capacity_utilization")),
            on="id",
        )
        .filter(pl.col("status").is_in(list(rules.ALERTING_STATUSES)) & crossed)
        .to_dicts()
    )
    updates = {
        row["id"]: {"utilization": row["utilization"], "capacity_utilization": row["new_capacity_utilization"]}
        for row in candidates
    }
    return candidates, updates


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
    campaigns, instances = load_metrics_frames(postgres)
    rollups = compute_rollups(campaigns, instances, outcome)
    # Alerts first: they compare with capacity_utilization *before* this run's UPDATE, so a retry after a failed
    # write sees the same crossings, and their dedup keys make the second insert a no-op.
    candidates, candidate_rollups = alert_candidates(campaigns, rollups)
    with postgres.begin() as connection:
        alerts = capacity_alerts(connection, candidates, candidate_rollups, window)
    written = write_rollups_isolated(postgres, rollups, outcome)
    duration_ms = (time.perf_counter() - started) * 1000
    metadata = {
        "campaignsProcessed": campaigns.height,
        "campaignsUpdated": written,
        "instancesRead": instances.height,
        "capacityAlerts": dg.MetadataValue.json(alerts),
        "nearCapacity": int(rollups["is_near_capacity"].sum()),
        "overCapacity": int(rollups["is_over_capacity"].sum()),
        "durationMs": round(duration_ms),
        "slow_run": duration_ms > SLOW_RUN_MS,
        "errors": dg.MetadataValue.json(outcome.errors),
    }
    return dg.MaterializeResult(metadata=metadata, check_results=[errors_check(METRICS, outcome.errors)])


# Job D, part 2 ----------------------------------------------------------------------------------------------------
def write_snapshot_frame(connection: sa.Connection, snapshots: pl.DataFrame) -> None:
    """Every snapshot in one COPY and one upsert, in the caller's transaction."""
    for statement in statements("campaigns/snapshots_stage"):
        connection.execute(statement)
    copy_in(connection, "snapshots_stage", snapshots)
    connection.execute(sa.text(query("campaigns/snapshot_upsert_from_stage")))


def take_snapshots(
    postgres: PostgresResource,
    campaigns: pl.DataFrame,
    instances: pl.DataFrame,
    snapshot_date: datetime,
    outcome: Outcome,
) -> int:
    built, errors = rules.snapshot_frame(campaigns, instances, snapshot_date)
    outcome.errors.extend(errors)
    if built.is_empty():
        return 0
    try:
        with postgres.begin() as connection:
            write_snapshot_frame(connection, built)
        return built.height
    except sa.exc.DBAPIError:
        written = 0
        for index in range(built.height):
            row = built.slice(index, 1)

            def one(row=row) -> bool:
                with postgres.begin() as connection:
                    write_snapshot_frame(connection, row)
                return True

            written += bool(outcome.isolate(row["campaign_id"].item(), one))
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
    campaigns, instances = load_metrics_frames(postgres)
    due = rules.snapshots_due(campaigns, window.start.hour)
    written = take_snapshots(postgres, due, instances, window.start, outcome)
    metadata = {
        "campaignsRefreshed": campaigns.height,
        "campaignsDue": due.height,
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
    with postgres.begin() as connection:
        selected, created = connection.execute(
            sa.text(query("campaigns/seat_usage_insert")),
            {
                "hour_key": window.hour_key,
                "period_start": window.start,
                "partition_key": window.key,
                "run_id": context.run_id,
            },
        ).one()
    metadata = {
        "campaignsProcessed": selected,
        "usageRecordsCreated": created,
        "duplicatesDetected": selected - created,
        "captured_at": captured_at.isoformat(),
        "errors": dg.MetadataValue.json([]),
    }
    return dg.MaterializeResult(metadata=metadata, check_results=[errors_check(SEAT_USAGE, [])])


# Job C ------------------------------------------------------------------------------------------------------------
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
    plans = apply_credit_usage(postgres, window, context.run_id, outcome)
    alerts: list[dict] = []
    low = [plan for plan in plans if rules.low_credit(plan["credit_allocation"], plan["credits_remaining"])]
    if low:
        with postgres.begin() as connection:
            for plan in low:
                alert = outcome.isolate(
                    plan["id"], lambda p=plan: low_credit_alert(connection, p, p["credits_remaining"], window)
                )
                if alert:
                    alerts.append(alert)
    actions = [plan["action"] for plan in plans]
    blocked = [plan["id"] for plan in plans if plan["action"] == "blocked"]
    created = sum(plan["created"] for plan in plans)
    metadata = {
        "campaignsProcessed": len(plans),
        "usageRecordsCreated": created,
        "usageRecordsUpdated": actions.count("update"),
        "usageRecordsDeleted": actions.count("delete"),
        "duplicatesDetected": actions.count("insert") - created,
        "late_adjustment_blocked": bool(blocked),
        "lateAdjustmentBlockedCampaigns": dg.MetadataValue.json(blocked),
        "lowCreditAlerts": dg.MetadataValue.json(alerts),
        "errors": dg.MetadataValue.json(outcome.errors),
    }
    return dg.MaterializeResult(metadata=metadata, check_results=[errors_check(CREDIT_USAGE, outcome.errors)])


def apply_credit_usage(postgres: PostgresResource, window: Window, run_id: str, outcome: Outcome) -> list[dict]:
    """Every campaign's hour in one statement; if the database refuses it, campaign by campaign, so only the
    campaign that fails is left out (and reported)."""
    params = {
        "hour_key": window.hour_key,
        "period_start": window.start,
        "period_end": window.end,
        "partition_key": window.key,
        "run_id": run_id,
    }

    def apply(campaign_id: str | None) -> list[dict]:
        with postgres.begin() as connection:
            return rows(connection, "campaigns/credit_usage_apply", {**params, "campaign_id": campaign_id})

    try:
        return apply(None)
    except sa.exc.DBAPIError:
        with postgres.connect() as connection:
            ids = [row["id"] for row in rows(connection, "campaigns/credit_campaigns")]
        plans: list[dict] = []
        for campaign_id in ids:
            plans.extend(outcome.isolate(campaign_id, lambda c=campaign_id: apply(c)) or [])
        return plans


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
