"""Profiles area (events-webhooks.md §8): profile completeness for everyone on a schedule, and per user from
`user.profile.updated` events (the events area's handler calls `update_completeness`)."""

from __future__ import annotations

import time

import dagster as dg
import sqlalchemy as sa

from teei_pipelines.defs.common import IO_RETRY, freshness_daily, source_table
from teei_pipelines.pgio import query
from teei_pipelines.resources.postgres import PostgresResource
from teei_pipelines.settings import env_cron

COMPLETENESS = dg.AssetKey(["profiles", "completeness"])
USERS = source_table("users", "users in PostgreSQL, edited by the platform (and announced by user.profile.updated).")


def update_completeness(connection: sa.Connection, user_ids: list[str] | None) -> int:
    """Recompute the users' completeness (None: everyone); returns how many values changed."""
    return len(connection.execute(sa.text(query("profiles/completeness_update")), {"user_ids": user_ids}).all())


@dg.asset(
    key=COMPLETENESS,
    deps=[USERS.key],
    description="users.profile_completeness for every user: 12 equally weighted fields, 100 × filled / 12, "
    "half-up to 1 dp; written only where it changed (users.updated_at untouched).",
    check_specs=[
        dg.AssetCheckSpec(
            "completeness_in_range",
            asset=COMPLETENESS,
            description="Every user has a completeness between 0.0 and 100.0 after the run (no NULLs left).",
        )
    ],
    retry_policy=IO_RETRY,
    freshness_policy=freshness_daily(),
    pool="postgres",
    group_name="profiles",
    kinds={"postgres"},
    owners=["team:platform"],
)
def completeness(postgres: PostgresResource):
    started = time.monotonic()
    with postgres.begin() as connection:
        changed = update_completeness(connection, None)
        histogram = connection.execute(sa.text(query("profiles/completeness_histogram"))).all()
    table = "\n".join(
        ["| completeness | users |", "|---|---|"] + [f"| {row.completeness} | {row.users} |" for row in histogram]
    )
    yield dg.MaterializeResult(
        metadata={
            "users": sum(row.users for row in histogram),
            "changed": changed,
            "distribution": dg.MetadataValue.md(table),
            "duration_s": round(time.monotonic() - started, 3),
        }
    )
    outside = sum(row.users for row in histogram if not 0 <= row.completeness <= 100)
    yield dg.AssetCheckResult(check_name="completeness_in_range", passed=outside == 0, metadata={"outside": outside})


profile_completeness_job = dg.define_asset_job(
    "profile_completeness_job", selection=dg.AssetSelection.assets(COMPLETENESS)
)
profile_completeness_schedule = dg.ScheduleDefinition(
    name="profile_completeness_schedule",
    cron_schedule=env_cron("PROFILE_COMPLETENESS_CRON", "0 3 * * *"),
    execution_timezone="UTC",
    job=profile_completeness_job,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Recomputes every user's profile completeness (PROFILE_COMPLETENESS_CRON, default 0 3 * * *).",
)

defs = dg.Definitions(
    assets=[USERS, completeness], jobs=[profile_completeness_job], schedules=[profile_completeness_schedule]
)
