"""NATS subscriptions as Dagster sensors (events-webhooks.md §6, §7).

Each sensor owns one subject filter and keeps its cursor — the last stream sequence it turned into runs — in
Dagster. A tick reads at most NATS_SENSOR_BATCH_SIZE messages after the cursor (an ephemeral pull consumer, no
acks), plans the runs the batch needs, and returns them with the new cursor in one SensorResult, so a batch is
requested exactly once (run_key `<subject>:<last seq>:<job>[:<partition>]`). A message whose payload is invalid is
counted and logged, and the cursor moves past it. NATS being down skips the tick with the reason; nothing is lost,
because the stream keeps the messages and the cursor has not moved.

Op-style effects (enrollments, profile completeness, e-mails) run in `process_events_job`, which re-reads its
messages by stream sequence. Asset targets get what they need in their run config: `q2q/evidence` the session ids,
the analytics sync the 15-minute windows that hold the new enrollments, a forced snapshot its campaign.
"""

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import dagster as dg
import sqlalchemy as sa

from teei_pipelines.defs.analytics.assets import USER_EVENTS_CH
from teei_pipelines.defs.analytics.schedules import analytics_sync_job, finops_job
from teei_pipelines.defs.campaigns.snapshots import campaign_snapshot_job
from teei_pipelines.defs.common import BUDDY_EVENTS, IO_RETRY, KINTELL_WEBHOOKS
from teei_pipelines.defs.events.handlers import handle_message
from teei_pipelines.defs.impact.schedules import vis_daily_job
from teei_pipelines.defs.q2q.schedules import q2q_evidence_job
from teei_pipelines.domain import event_payloads as payloads
from teei_pipelines.errors import ServiceUnavailableError
from teei_pipelines.outbox import finish_inbox_row
from teei_pipelines.pgio import query
from teei_pipelines.resources.nats import NatsResource, StreamMessage, StreamRead
from teei_pipelines.resources.postgres import PostgresResource
from teei_pipelines.settings import env_int, partition_start

WINDOW = timedelta(minutes=15)
PLATFORM_EVENTS = dg.AssetSpec(
    key=["sources", "platform_events"],
    description="user.*, report.*, slo.*, privacy.* and campaign.* events in JetStream, from the platform.",
    group_name="sources",
    kinds={"nats"},
)


def batch_size() -> int:
    return env_int("NATS_SENSOR_BATCH_SIZE", 100, minimum=1)


def sensor_interval_s() -> int:
    return env_int("NATS_SENSOR_INTERVAL_S", 30, minimum=1)


class EventsRunConfig(dg.Config):
    subject: str
    stream_sequences: list[int]


@dg.op(retry_policy=IO_RETRY, tags={"teei/area": "events"})
def process_events(
    context: dg.OpExecutionContext, config: EventsRunConfig, postgres: PostgresResource, nats: NatsResource
) -> dict:
    messages = nats.messages_by_seq(config.stream_sequences)
    counts = {"processed": 0, "skipped": 0, "rejected": 0}
    reasons: dict[str, int] = {}
    with postgres.begin() as connection:
        for message in messages:
            outcome = handle_message(connection, message.subject, message.data, message.seq)
            counts[outcome.status] += 1
            if outcome.reason:
                reasons[outcome.reason[:120]] = reasons.get(outcome.reason[:120], 0) + 1
            if outcome.status == "rejected":
                context.log.warning("seq %d (%s) rejected: %s", message.seq, message.subject, outcome.reason)
    report = {**counts, "expired": len(config.stream_sequences) - len(messages), "reasons": reasons}
    context.add_output_metadata({**counts, "expired": report["expired"], "reasons": dg.MetadataValue.json(reasons)})
    return report


@dg.job(
    description="Apply a batch of NATS events (enrollments, profile completeness, e-mails) read by stream sequence."
)
def process_events_job():
    process_events()


@dataclass
class Batch:
    subject: str
    messages: list[StreamMessage]
    valid: list[tuple[int, object]] = field(default_factory=list)  # (seq, parsed data)
    rejected: list[tuple[int, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Target:
    job: str
    run_config: dict
    partition_key: str | None = None
    asset_selection: Sequence[dg.AssetKey] | None = None
    label: str | None = None  # distinguishes several runs of one job in a batch


Plan = Callable[[Batch, datetime], list[Target]]


def parse_batch(subject: str, messages: list[StreamMessage], model: type | None) -> Batch:
    batch = Batch(subject, messages)
    for message in messages:
        try:
            envelope = payloads.parse_envelope(message.data)
            batch.valid.append((message.seq, payloads.parse_data(model, envelope) if model else envelope))
        except payloads.InvalidEvent as exc:
            batch.rejected.append((message.seq, str(exc)))
    return batch


def events_run(batch: Batch) -> Target:
    seqs = [message.seq for message in batch.messages]
    return Target(
        process_events_job.name,
        {"ops": {"process_events": {"config": {"subject": batch.subject, "stream_sequences": seqs}}}},
    )


def sync_windows(moments: Sequence[datetime], now: datetime) -> list[Target]:
    """The analytics re-sync of user_events_ch for each complete 15-minute window holding a new enrollment."""
    starts = set()
    for moment in moments:
        moment = moment.astimezone(UTC)
        start = moment.replace(minute=moment.minute - moment.minute % 15, second=0, microsecond=0)
        if start + WINDOW <= now and start.date() >= partition_start():
            starts.add(start)
    return [
        Target(analytics_sync_job.name, {}, start.strftime("%Y-%m-%d-%H:%M"), [USER_EVENTS_CH])
        for start in sorted(starts)
    ]


def evidence_run(session_ids: Sequence[str], feedback_texts: dict[str, str] | None = None) -> Target:
    config = {"session_ids": sorted(set(session_ids)), "feedback_texts": feedback_texts or {}}
    return Target(q2q_evidence_job.name, {"ops": {"q2q__evidence": {"config": config}}})


def plan_session_completed(batch: Batch, now: datetime) -> list[Target]:
    targets = [events_run(batch)]
    if batch.valid:
        targets.append(evidence_run([str(event.sessionId) for _, event in batch.valid]))
        targets += sync_windows([event.completedAt for _, event in batch.valid], now)
    return targets


def plan_rating_created(batch: Batch, now: datetime) -> list[Target]:
    if not batch.valid:
        return []
    texts = {str(e.sessionId): e.feedbackText for _, e in batch.valid if e.feedbackText and e.feedbackText.strip()}
    return [evidence_run([str(event.sessionId) for _, event in batch.valid], texts)]


def plan_buddy_match(batch: Batch, now: datetime) -> list[Target]:
    return [events_run(batch), *sync_windows([event.matchedAt for _, event in batch.valid], now)]


def plan_events_only(batch: Batch, now: datetime) -> list[Target]:
    return [events_run(batch)]


def plan_campaign_snapshots(batch: Batch, now: datetime) -> list[Target]:
    campaigns = sorted({str(event.campaignId) for _, event in batch.valid})
    return [
        Target(
            campaign_snapshot_job.name,
            {"ops": {"campaign_snapshot": {"config": {"campaign_id": campaign_id}}}},
            label=campaign_id,
        )
        for campaign_id in campaigns
    ]


def sensor_name(subject: str) -> str:
    return "nats_" + subject.replace(".", "_").replace(">", "").replace("*", "").strip("_") + "_sensor"


def run_requests(batch: Batch, targets: list[Target], last_seq: int) -> list[dg.RunRequest]:
    requests = []
    for target in targets:
        key = f"{batch.subject}:{last_seq}:{target.job}"
        if target.partition_key:
            key += f":{target.partition_key}"
        if target.label:
            key += f":{target.label}"
        requests.append(
            dg.RunRequest(
                run_key=key,
                job_name=target.job,
                run_config=target.run_config,
                partition_key=target.partition_key,
                asset_selection=list(target.asset_selection) if target.asset_selection else None,
                tags={"teei/nats_subject": batch.subject, "teei/nats_last_seq": str(last_seq)},
            )
        )
    return requests


def read_or_skip(context: dg.SensorEvaluationContext, nats: NatsResource, subject: str) -> StreamRead | dg.SkipReason:
    """The messages after the sensor's cursor, or why there are none this tick (the cursor then stays)."""
    cursor = int(context.cursor or 0)
    try:
        read = nats.read_after(subject, cursor, batch_size())
    except ServiceUnavailableError as exc:
        return dg.SkipReason(f"NATS unavailable; the cursor stays at {cursor} and the next tick resumes: {exc}")
    if not read.messages:
        return dg.SkipReason(f"no {subject} messages after stream sequence {cursor}")
    if cursor and read.first_seq > cursor + 1:
        context.log.warning(
            "%s: messages %d..%d expired before they were read", subject, cursor + 1, read.first_seq - 1
        )
    return read


def nats_sensor(subject: str, model: type | None, plan: Plan, jobs: list, source: dg.AssetKey, description: str):
    @dg.sensor(
        name=sensor_name(subject),
        minimum_interval_seconds=sensor_interval_s(),
        default_status=dg.DefaultSensorStatus.RUNNING,
        jobs=jobs,
        description=description,
    )
    def _sensor(context: dg.SensorEvaluationContext, nats: NatsResource):
        read = read_or_skip(context, nats, subject)
        if isinstance(read, dg.SkipReason):
            return read
        batch = parse_batch(subject, read.messages, model)
        for seq, reason in batch.rejected:
            context.log.warning("%s seq %d rejected: %s", subject, seq, reason)
        last_seq = read.messages[-1].seq
        observation = dg.AssetObservation(
            asset_key=source,
            metadata={
                "subject": subject,
                "events": len(read.messages),
                "rejected": len(batch.rejected),
                "last_seq": last_seq,
                "lag": max(0, read.last_seq - last_seq),
            },
        )
        return dg.SensorResult(
            run_requests=run_requests(batch, plan(batch, datetime.now(UTC)), last_seq),
            cursor=str(last_seq),
            asset_events=[observation],
        )

    return _sensor


SUBSCRIPTIONS = [
    nats_sensor(
        "kintell.session.completed",
        payloads.SessionCompletedEvent,
        plan_session_completed,
        [process_events_job, q2q_evidence_job, analytics_sync_job],
        KINTELL_WEBHOOKS.key,
        "Completed sessions → enrollment upsert, Q2Q evidence for their feedback, and the analytics re-sync of the "
        "windows holding the new enrollments.",
    ),
    nats_sensor(
        "kintell.rating.created",
        payloads.RatingCreatedEvent,
        plan_rating_created,
        [q2q_evidence_job],
        KINTELL_WEBHOOKS.key,
        "Ratings → Q2Q evidence for the rated sessions (the rating's own feedbackText wins).",
    ),
    nats_sensor(
        "buddy.match.created",
        payloads.BuddyMatchCreatedEvent,
        plan_buddy_match,
        [process_events_job, analytics_sync_job],
        BUDDY_EVENTS.key,
        "Buddy matches → enrollment upsert (program_type buddy) and the analytics re-sync of their windows.",
    ),
    nats_sensor(
        "campaign.status.changed",
        payloads.CampaignStatusChangedEvent,
        plan_campaign_snapshots,
        [campaign_snapshot_job],
        PLATFORM_EVENTS.key,
        "Campaign status changes → a forced snapshot of each campaign (campaigns.md §5).",
    ),
] + [
    nats_sensor(subject, None, plan_events_only, [process_events_job], PLATFORM_EVENTS.key, description)
    for subject, description in (
        ("user.profile.updated", "Profile updates → that user's profile completeness."),
        ("report.generated", "Generated reports → the weekly-report e-mail to recipientEmail."),
        ("reporting.generated", "The legacy subject of report.generated, same payload and effect."),
        ("slo.breached", "SLO breaches → alert-slo-breach to alertEmail."),
        ("privacy.export.completed", "Finished privacy exports → data-export-ready to userEmail."),
        ("user.registered", "New users → the welcome e-mail to userEmail."),
    )
]


# --- manual triggers (§9) ------------------------------------------------------------------------------------------

TRIGGER_SUBJECT = "pipelines.trigger.>"
REQUEST_TAG = "teei/request_id"


def trigger_run_requests(connection: sa.Connection, messages: Sequence[StreamMessage]) -> tuple[list, list]:
    """One RunRequest per planned partition of each stored request (run_key `manual:<requestId>:<partition>`);
    the request's inbox row becomes `processed`. Returns (run requests, rejected (seq, reason))."""
    requests, rejected = [], []
    for message in messages:
        try:
            inbox_id = json.loads(message.data)["inboxId"]
            row = connection.execute(sa.text(query("triggers/request_by_inbox_id")), {"id": inbox_id}).first()
            if row is None:
                raise ValueError(f"no stored manual request {inbox_id}")
            plan = json.loads(bytes(row.raw_body))["plan"]
        except (ValueError, KeyError, TypeError, sa.exc.DataError) as exc:
            rejected.append((message.seq, str(exc)))
            continue
        for partition in plan["partitions"]:
            selection = plan.get("asset_selection")
            requests.append(
                dg.RunRequest(
                    run_key=f"manual:{row.delivery_id}:{partition or 'run'}",
                    job_name=plan["job"],
                    run_config=plan["run_config"],
                    partition_key=partition,
                    asset_selection=[dg.AssetKey(key) for key in selection] if selection else None,
                    tags={REQUEST_TAG: row.delivery_id, "teei/trigger": row.event_type},
                )
            )
        if row.status not in ("processed", "rejected", "dead"):
            finish_inbox_row(connection, row.id, "processed", None)
    return requests, rejected


@dg.sensor(
    name=sensor_name(TRIGGER_SUBJECT),
    minimum_interval_seconds=sensor_interval_s(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    jobs=[vis_daily_job, campaign_snapshot_job, analytics_sync_job, finops_job],
    description="Manual trigger requests (POST /v1/…) → one run per partition, tagged teei/request_id.",
)
def nats_pipelines_trigger_sensor(context: dg.SensorEvaluationContext, nats: NatsResource, postgres: PostgresResource):
    read = read_or_skip(context, nats, TRIGGER_SUBJECT)
    if isinstance(read, dg.SkipReason):
        return read
    with postgres.begin() as connection:
        requests, rejected = trigger_run_requests(connection, read.messages)
    for seq, reason in rejected:
        context.log.warning("pipelines.trigger seq %d rejected: %s", seq, reason)
    return dg.SensorResult(run_requests=requests, cursor=str(read.messages[-1].seq))
