"""Table-level checks on what the campaign assets wrote (campaigns issue: "Asset checks")."""

from datetime import UTC, datetime, timedelta

import dagster as dg
import sqlalchemy as sa

from teei_pipelines.defs.campaigns.assets import CREDIT_USAGE, METRICS, SEAT_USAGE, SNAPSHOTS, rows
from teei_pipelines.domain.campaigns import snapshot_frequency_hours
from teei_pipelines.resources.postgres import PostgresResource


def _count(postgres: PostgresResource, sql: str) -> int:
    with postgres.connect() as connection:
        return connection.execute(sa.text(sql)).scalar_one()


@dg.asset_check(asset=METRICS, description="No campaign has a negative capacity_utilization.")
def capacity_utilization_not_negative(postgres: PostgresResource) -> dg.AssetCheckResult:
    bad = _count(postgres, "SELECT count(*) FROM campaigns WHERE capacity_utilization < 0")
    return dg.AssetCheckResult(passed=bad == 0, metadata={"campaigns": bad})


@dg.asset_check(
    asset=SNAPSHOTS,
    description="Snapshot budget_allocated and budget_spent are ≥ 0 (budget_remaining may be negative: overspend).",
)
def snapshot_budgets_not_negative(postgres: PostgresResource) -> dg.AssetCheckResult:
    bad = _count(
        postgres, "SELECT count(*) FROM campaign_metrics_snapshots WHERE budget_allocated < 0 OR budget_spent < 0"
    )
    return dg.AssetCheckResult(passed=bad == 0, metadata={"snapshots": bad})


@dg.asset_check(
    asset=SNAPSHOTS,
    description="Every active campaign has a snapshot within its frequency window (1/6/24 h, plus 1 h of lag).",
)
def active_campaigns_have_recent_snapshot(postgres: PostgresResource) -> dg.AssetCheckResult:
    now = datetime.now(UTC)
    with postgres.connect() as connection:
        coverage = rows(connection, "campaigns/check_snapshot_coverage")
    missing = [
        row["campaign_id"]
        for row in coverage
        if row["newest"] is None
        or row["newest"] < now - timedelta(hours=snapshot_frequency_hours("active", row["current_sessions"]) + 1)
    ]
    return dg.AssetCheckResult(
        passed=not missing,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"active_campaigns": len(coverage), "missing": dg.MetadataValue.json(missing[:20])},
    )


def _billing_quantities_check(asset: dg.AssetKey, campaign_event_type: str):
    @dg.asset_check(
        asset=asset,
        name=f"{asset.path[-1]}_quantities_not_negative",
        description=f"Every {campaign_event_type} billing record has quantity ≥ 0.",
    )
    def _check(postgres: PostgresResource) -> dg.AssetCheckResult:
        with postgres.connect() as connection:
            bad = connection.execute(
                sa.text("SELECT count(*) FROM billing_usage_records WHERE campaign_event_type = :t AND quantity < 0"),
                {"t": campaign_event_type},
            ).scalar_one()
        return dg.AssetCheckResult(passed=bad == 0, metadata={"records": bad})

    return _check


CHECKS = [
    capacity_utilization_not_negative,
    snapshot_budgets_not_negative,
    active_campaigns_have_recent_snapshot,
    _billing_quantities_check(SEAT_USAGE, "seat_usage"),
    _billing_quantities_check(CREDIT_USAGE, "credit_usage"),
]
