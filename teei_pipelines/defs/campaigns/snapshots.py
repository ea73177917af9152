"""Forced snapshots (campaigns.md §5): one campaign, any status, no frequency or stale-partition guard. First the
§4 aggregation for that campaign, then the same upsert. Used by `campaign_snapshot_job` (manual, and the
`POST /v1/campaigns/{id}/snapshot` trigger) and by the campaign.status.changed handler."""

from datetime import UTC, datetime

import dagster as dg
from pydantic import Field

from teei_pipelines.defs.campaigns.assets import (
    Outcome,
    compute_rollups,
    load_metrics_frames,
    take_snapshots,
    write_rollups_isolated,
)
from teei_pipelines.resources.postgres import PostgresResource


class UnknownCampaignError(LookupError):
    pass


def force_snapshot(postgres: PostgresResource, campaign_id: str, snapshot_date: datetime) -> dict:
    outcome = Outcome()
    found, instances = load_metrics_frames(postgres, campaign_id)
    if found.is_empty():
        raise UnknownCampaignError(f"campaign {campaign_id} does not exist")
    write_rollups_isolated(postgres, compute_rollups(found, instances, outcome), outcome)
    if outcome.errors:
        raise RuntimeError(f"aggregation failed for {campaign_id}: {outcome.errors[0]['error']}")
    refreshed, _ = load_metrics_frames(postgres, campaign_id)
    written = take_snapshots(postgres, refreshed, instances, snapshot_date, outcome)
    if outcome.errors:
        raise RuntimeError(f"snapshot failed for {campaign_id}: {outcome.errors[0]['error']}")
    return {"campaignId": campaign_id, "snapshot_date": snapshot_date.isoformat(), "written": written}


class CampaignSnapshotConfig(dg.Config):
    campaign_id: str = Field(description="the campaign to snapshot now (start of the current UTC hour)")


@dg.op(tags={"teei/area": "campaigns"})
def campaign_snapshot(context: dg.OpExecutionContext, config: CampaignSnapshotConfig, postgres: PostgresResource):
    now = datetime.now(UTC)
    snapshot_date = now.replace(minute=0, second=0, microsecond=0)
    try:
        result = force_snapshot(postgres, config.campaign_id, snapshot_date)
    except UnknownCampaignError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from exc
    context.log.info("forced snapshot: %s", result)
    return dg.Output(None, metadata=result)


@dg.job(description="Snapshot one campaign now (config: campaign_id), ignoring its frequency (campaigns.md §5).")
def campaign_snapshot_job():
    campaign_snapshot()
