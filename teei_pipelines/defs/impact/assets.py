"""Volunteer Impact Score assets (vis.md): daily history, the latest copy, and the per-instance average.

Thin wrappers: the scoring rules live in `teei_pipelines.domain.vis`, the PostgreSQL I/O in `vis_store`.
"""

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import dagster as dg
import polars as pl
import sqlalchemy as sa
from pydantic import Field

from teei_pipelines.defs.common import (
    BUDDY_EVENTS,
    IO_RETRY,
    PROGRAM_ENROLLMENTS,
    daily_partitions,
    freshness_daily,
    violations_check,
)
from teei_pipelines.defs.impact import vis_store
from teei_pipelines.domain.rounding import fixed
from teei_pipelines.domain.vis import DecayParams
from teei_pipelines.errors import ConfigError
from teei_pipelines.pgio import copy_out, query
from teei_pipelines.resources.postgres import PostgresResource
from teei_pipelines.settings import env

VIS_PARTITIONS = daily_partitions()
VIS_DAILY = dg.AssetKey(["impact", "vis_scores_daily"])
VIS_LATEST = dg.AssetKey(["impact", "vis_scores"])
PROGRAM_INSTANCE_VIS = dg.AssetKey(["impact", "program_instance_vis"])
VIS_POOL = "vis_scores"  # limit 1: one VIS computation at a time, so a partition never runs twice concurrently
OWNERS = ["team:impact"]


class VisRunConfig(dg.Config):
    mode: str = Field(
        default="auto",
        description="auto: incremental from the previous day when vis.md §6 allows it, else full; full; incremental",
    )
    user_id: str | None = Field(default=None, description="manual recalculation: report this user's row")


def decay_params_from_env() -> DecayParams:
    """VIS_LAMBDA and VIS_ENABLE_DECAY, validated at run start (vis.md §1)."""
    try:
        return DecayParams.from_env_values(env("VIS_LAMBDA", "0.01"), env("VIS_ENABLE_DECAY", "true"))
    except ConfigError as exc:
        raise dg.Failure(description=f"configuration error: {exc}", allow_retries=False) from exc


def partition_days(context: dg.AssetExecutionContext) -> list[date]:
    window = context.partition_time_window
    first, end = window.start.date(), window.end.date()
    return [first + timedelta(days=offset) for offset in range((end - first).days)]


def vis_asset(key: dg.AssetKey, description: str, deps: list, kinds: set[str], check_specs: Sequence = ()):
    """The shared shape of the VIS assets: daily partitions, single-run range backfills, one VIS run at a time."""
    return dg.asset(
        key=key,
        description=description,
        partitions_def=VIS_PARTITIONS,
        backfill_policy=dg.BackfillPolicy.single_run(),
        deps=deps,
        check_specs=list(check_specs),
        pool=VIS_POOL,
        retry_policy=IO_RETRY,
        freshness_policy=freshness_daily(),
        group_name="impact",
        kinds=kinds,
        owners=OWNERS,
    )


def _percentiles_markdown(scores: pl.DataFrame) -> str:
    if scores.height == 0:
        return "no users"
    quantiles = {f"p{int(q * 100)}": scores["current_vis"].quantile(q, "nearest") for q in (0.5, 0.9, 0.99)}
    rows = [f"| {name} | {value:.2f} |" for name, value in {**quantiles, "max": scores["current_vis"].max()}.items()]
    return "\n".join(["| percentile | current_vis |", "|---|---|", *rows])


@vis_asset(
    VIS_DAILY,
    (
        "Volunteer Impact Score per user and UTC day: partition D is VIS as of D+1 00:00Z (vis.md §2-§4), "
        "stored in vis_scores_daily with the unrounded decay_sum. A day starts from the previous day's stored "
        "state when vis.md §6 allows it (incremental), otherwise from every event (full)."
    ),
    deps=[BUDDY_EVENTS],
    kinds={"polars", "postgres"},
    check_specs=[
        dg.AssetCheckSpec(
            "vis_incremental_equals_full",
            asset=VIS_DAILY,
            blocking=True,
            description=(
                "When a day was computed incrementally, recompute the newest such day from every event and "
                "compare: same users; equal raw points, breakdown, last activity and rounded VIS; decay_sum "
                "within 1e-9 relative. On failure vis_scores is not refreshed: re-run the day with mode=full."
            ),
        )
    ],
)
def vis_scores_daily(
    context: dg.AssetExecutionContext, config: VisRunConfig, postgres: PostgresResource
) -> dg.MaterializeResult:
    if config.mode not in ("auto", "full", "incremental"):
        raise dg.Failure(
            description=f"mode must be auto, full or incremental, not {config.mode!r}", allow_retries=False
        )
    params = decay_params_from_env()
    days = partition_days(context)
    try:
        result = vis_store.compute_range(postgres.engine, days, params, config.mode)  # type: ignore[arg-type]
    except vis_store.IncrementalUnavailableError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from exc
    scores = result.last_scores if result.last_scores is not None else pl.DataFrame()
    metadata: dict[str, Any] = {
        "partitions": len(days),
        "first_partition": days[0].isoformat(),
        "last_partition": days[-1].isoformat(),
        "users": scores.height,
        "events_read": result.events_read,
        "methods": {method: sum(d.method == method for d in result.days) for method in ("full", "incremental")},
        "lambda": params.decay_lambda,
        "decay_enabled": params.enable_decay,
        "duration_s": round(result.seconds, 3),
        "vis_distribution": dg.MetadataValue.md(_percentiles_markdown(scores)),
    }
    if result.fallback_reason:
        metadata["full_because"] = result.fallback_reason
    if config.user_id is not None:
        row = scores.filter(pl.col("user_id") == config.user_id)
        requested = _jsonable(row.to_dicts()[0]) if row.height else {"user_id": config.user_id, "scored": False}
        metadata["requested_user"] = dg.MetadataValue.json(requested)

    if result.last_incremental_day is None:
        check = dg.AssetCheckResult(
            check_name="vis_incremental_equals_full",
            passed=True,
            metadata={"compared": "nothing: every day in this run was a full recompute"},
        )
    else:
        comparison = vis_store.verify_incremental(postgres.engine, result.last_incremental_day, scores, params)
        check = dg.AssetCheckResult(
            check_name="vis_incremental_equals_full",
            passed=comparison.passed,
            metadata={
                "partition": result.last_incremental_day.isoformat(),
                "users_only_incremental": comparison.users_only_incremental,
                "users_only_full": comparison.users_only_full,
                "mismatched_users": comparison.mismatched_users,
                "max_decay_sum_relative_error": comparison.max_decay_sum_relative_error,
                "examples": ", ".join(comparison.examples) or "none",
            },
        )
    return dg.MaterializeResult(metadata=metadata, check_results=[check])


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    return value.isoformat() if hasattr(value, "isoformat") else value


def _newest_day_or_skip(
    context: dg.AssetExecutionContext, postgres: PostgresResource
) -> tuple[date, dg.MaterializeResult | None]:
    """These current-state assets act only for the newest stored partition (vis.md §5)."""
    day = partition_days(context)[-1]
    with postgres.connect() as connection:
        latest = vis_store.latest_partition(connection)
    if latest != day:
        context.log.info("partition %s is not the newest in vis_scores_daily (%s): nothing to refresh", day, latest)
        return day, dg.MaterializeResult(
            metadata={"skipped": "not_latest_partition", "partition": day.isoformat(), "latest": str(latest)}
        )
    return day, None


@vis_asset(
    VIS_LATEST,
    (
        "vis_scores, the table the platform reads: the newest vis_scores_daily partition, upserted by user_id, "
        "with users absent from it removed (vis.md §5). A backfill of an older day leaves it untouched."
    ),
    deps=[VIS_DAILY],
    kinds={"postgres"},
    check_specs=[
        dg.AssetCheckSpec(
            "vis_scores_valid",
            asset=VIS_LATEST,
            description="One row per user, rank ≥ 1, percentile within 0..100 and current_vis ≥ 0 in vis_scores.",
        )
    ],
)
def vis_scores(context: dg.AssetExecutionContext, postgres: PostgresResource) -> dg.MaterializeResult:
    day, skipped = _newest_day_or_skip(context, postgres)
    if skipped is not None:
        check = violations_check(postgres, "vis_scores_valid", "impact/check_vis_scores")
        return dg.MaterializeResult(metadata=skipped.metadata, check_results=[check])
    rows = vis_store.refresh_vis_scores(postgres.engine, day)
    check = violations_check(postgres, "vis_scores_valid", "impact/check_vis_scores")
    return dg.MaterializeResult(metadata={"partition": day.isoformat(), "rows": rows}, check_results=[check])


@vis_asset(
    PROGRAM_INSTANCE_VIS,
    (
        "program_instances.average_vis_score: the mean current_vis of each instance's enrolled users, "
        "toFixed(2); NULL when none has a score (vis.md §5). campaigns/metrics averages it."
    ),
    deps=[VIS_LATEST, PROGRAM_ENROLLMENTS],
    kinds={"postgres", "polars"},
    check_specs=[
        dg.AssetCheckSpec(
            "average_vis_in_range",
            asset=PROGRAM_INSTANCE_VIS,
            description="Every stored average_vis_score lies between 0 and the highest current_vis in vis_scores.",
        )
    ],
)
def program_instance_vis(context: dg.AssetExecutionContext, postgres: PostgresResource) -> dg.MaterializeResult:
    day, skipped = _newest_day_or_skip(context, postgres)
    if skipped is not None:
        check = violations_check(postgres, "average_vis_in_range", "impact/check_program_instance_vis")
        return dg.MaterializeResult(metadata=skipped.metadata, check_results=[check])
    with postgres.begin() as connection:
        per_user = copy_out(
            connection,
            "impact/program_instance_user_vis",
            {},
            {"program_instance_id": pl.String, "current_vis": pl.Float64},
        )
        averages = per_user.group_by("program_instance_id").agg(pl.col("current_vis").mean().alias("mean"))
        instance_ids = averages["program_instance_id"].to_list()
        values = [fixed(mean, 2) for mean in averages["mean"].to_list()]
        updated = connection.execute(
            sa.text(query("impact/program_instance_vis_update")),
            {"instance_ids": instance_ids, "averages": values},
        ).rowcount
        instances = connection.execute(sa.text("SELECT count(*) FROM program_instances")).scalar_one()
    return dg.MaterializeResult(
        metadata={
            "partition": day.isoformat(),
            "instances": instances,
            "instances_with_scored_users": len(instance_ids),
            "rows_changed": updated,
        },
        check_results=[violations_check(postgres, "average_vis_in_range", "impact/check_program_instance_vis")],
    )
