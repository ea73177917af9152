"""Policies and entry-point specs shared by every area (spec README "Reliability", events-webhooks.md §6)."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

from teei_pipelines.settings import partition_start

# Every PG, CH, NATS and HTTP step: 3 retries, exponential backoff with jitter.
IO_RETRY = dg.RetryPolicy(max_retries=3, delay=5, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)

# Entry points of the lineage graph: tables and streams written outside Dagster.
BUDDY_EVENTS = dg.AssetSpec(
    key=["sources", "buddy_events"],
    description="buddy_system_events in PostgreSQL, written by the Buddy service (and the buddy.* NATS events).",
    group_name="sources",
    kinds={"postgres"},
)
PROGRAM_ENROLLMENTS = dg.AssetSpec(
    key=["sources", "program_enrollments"],
    description="program_enrollments in PostgreSQL: who is enrolled in which program instance.",
    group_name="sources",
    kinds={"postgres"},
)


def daily_partitions() -> dg.DailyPartitionsDefinition:
    """UTC days from TEEI_PARTITION_START up to yesterday (the last complete day)."""
    return dg.DailyPartitionsDefinition(start_date=partition_start().isoformat(), timezone="UTC")


def freshness_daily() -> dg.FreshnessPolicy:
    """About twice a daily cadence (spec README)."""
    return dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=48), warn_window=timedelta(hours=26))
