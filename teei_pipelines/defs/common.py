"""Policies and entry-point specs shared by every area (spec README "Reliability", events-webhooks.md §6)."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

from teei_pipelines.settings import partition_start

# Every PG, CH, NATS and HTTP step: 3 retries, exponential backoff with jitter.
IO_RETRY = dg.RetryPolicy(max_retries=3, delay=5, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)


def source_table(name: str, description: str) -> dg.AssetSpec:
    """An entry point of the lineage graph: a PostgreSQL table written outside Dagster."""
    return dg.AssetSpec(key=["sources", name], description=description, group_name="sources", kinds={"postgres"})


BUDDY_EVENTS = source_table(
    "buddy_events", "buddy_system_events in PostgreSQL, written by the Buddy service (and the buddy.* NATS events)."
)
PROGRAM_ENROLLMENTS = source_table(
    "program_enrollments", "program_enrollments in PostgreSQL: who is enrolled in which program instance."
)
CAMPAIGNS = source_table("campaigns", "campaigns and program_instances in PostgreSQL, edited by the platform API.")
KINTELL_SESSIONS = source_table("kintell_sessions", "kintell_sessions in PostgreSQL, written from Kintell webhooks.")


def daily_partitions() -> dg.DailyPartitionsDefinition:
    """UTC days from TEEI_PARTITION_START up to yesterday (the last complete day)."""
    return dg.DailyPartitionsDefinition(start_date=partition_start().isoformat(), timezone="UTC")


def freshness_daily() -> dg.FreshnessPolicy:
    """About twice a daily cadence (spec README)."""
    return dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=48), warn_window=timedelta(hours=26))
