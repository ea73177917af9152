"""Campaign assets on real PostgreSQL and NATS: idempotent hourly partitions, no duplicate billing rows or
snapshots or events, isolated failures, alert crossings, credit consumption, the stale-partition guard."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest
import sqlalchemy as sa

from teei_pipelines import seed
from teei_pipelines.defs.campaigns.assets import credit_usage, lifecycle, metrics, metrics_snapshots, seat_usage
from teei_pipelines.defs.campaigns.schedules import JOBS_AND_SCHEDULES, previous_hour_key
from teei_pipelines.defs.campaigns.snapshots import campaign_snapshot_job
from teei_pipelines.domain.subjects import STREAM_NAME
from teei_pipelines.resources.nats import run_sync

from ..conftest import pg_rows

ALL = [lifecycle, metrics, metrics_snapshots, seat_usage, credit_usage]
NOW = datetime.now(UTC)
CURRENT = previous_hour_key(NOW)  # the hour that just ended: never stale


@pytest.fixture
def seeded(engine):
    seed.load_postgres(engine, seed.generate(1, 42, seed.default_anchor()))
    return engine


def run(postgres, nats, key: str, selection=ALL, raise_on_error=True) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        selection,
        partition_key=key,
        resources={"postgres": postgres, "nats": nats},
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=raise_on_error,
    )


def meta(result, asset: str) -> dict:
    return {k: v.value for k, v in result.asset_materializations_for_node(f"campaigns__{asset}")[0].metadata.items()}


def state(engine) -> dict[str, list[tuple]]:
    return {
        "campaigns": pg_rows(
            engine,
            "SELECT id, status, current_volunteers, current_beneficiaries, current_sessions, "
            "total_hours_logged, cumulative_sroi, average_vis, capacity_utilization, "
            "is_near_capacity, is_over_capacity, credits_remaining FROM campaigns ORDER BY id",
        ),
        "billing": pg_rows(
            engine,
            "SELECT deduplication_key, event_type, quantity, campaign_event_type, subscription_id "
            "FROM billing_usage_records ORDER BY deduplication_key",
        ),
        "snapshots": pg_rows(
            engine,
            "SELECT campaign_id, snapshot_date, volunteers_utilization, budget_remaining, "
            "full_snapshot FROM campaign_metrics_snapshots ORDER BY campaign_id, snapshot_date",
        ),
        "alerts": pg_rows(
            engine, "SELECT dedup_key, band, notification_id IS NOT NULL FROM capacity_alerts ORDER BY 1"
        ),
        "outbox": pg_rows(engine, "SELECT msg_id FROM event_outbox ORDER BY msg_id"),
        "queue": pg_rows(
            engine, "SELECT dedup_key FROM notifications_queue WHERE dedup_key NOT LIKE 'seed:%' ORDER BY 1"
        ),
    }


def stream_count(nats, subject: str) -> int:
    async def count():
        async with nats.jetstream() as (_, js):
            info = await js.stream_info(STREAM_NAME, subjects_filter=subject)
            return sum((info.state.subjects or {}).values())

    return run_sync(count())


def test_every_asset_twice_gives_identical_tables_and_no_second_event(seeded, postgres, nats):
    published_before = stream_count(nats, "campaign.status.changed")
    first = run(postgres, nats, CURRENT)
    lifecycle_meta = meta(first, "lifecycle")
    assert lifecycle_meta["campaignsTransitioned"] >= 2, "the seed starts and ends campaigns today"
    assert {t["to"] for t in lifecycle_meta["transitions"]} <= {"active", "completed"}
    assert lifecycle_meta["eventsPublished"] == lifecycle_meta["campaignsTransitioned"]
    assert stream_count(nats, "campaign.status.changed") == published_before + lifecycle_meta["campaignsTransitioned"]
    assert meta(first, "seat_usage")["usageRecordsCreated"] > 0
    after_first = state(seeded)
    assert len(after_first["outbox"]) == lifecycle_meta["campaignsTransitioned"]
    assert all(row[4] is None for row in after_first["billing"]), "subscription_id is never an l2i id"

    second = run(postgres, nats, CURRENT)
    assert meta(second, "lifecycle")["campaignsTransitioned"] == 0
    assert meta(second, "seat_usage")["usageRecordsCreated"] == 0
    assert meta(second, "seat_usage")["duplicatesDetected"] == meta(first, "seat_usage")["usageRecordsCreated"]
    assert state(seeded) == after_first
    assert stream_count(nats, "campaign.status.changed") == published_before + lifecycle_meta["campaignsTransitioned"]


def test_forty_eight_hour_backfill_is_order_independent_and_the_guard_refuses_stale_hours(
    seeded, postgres, nats, monkeypatch
):
    hours = [previous_hour_key(NOW - timedelta(hours=offset)) for offset in range(47, -1, -1)]
    result = run(postgres, nats, hours[0], selection=[metrics_snapshots, seat_usage])
    assert meta(result, "metrics_snapshots")["skipped"] == "stale_partition"
    assert meta(result, "seat_usage")["skipped"] == "stale_partition"
    assert pg_rows(seeded, "SELECT count(*) FROM billing_usage_records WHERE campaign_event_type = 'seat_usage'") == [
        (0,)
    ]

    monkeypatch.setenv("CAMPAIGN_BACKFILL_MAX_LAG_HOURS", "off")
    # Lifecycle is current state: settle today's transitions first, so the backfill below reads a fixed state
    # (snapshots of a past hour carry run-time values by design, campaigns.md §2).
    run(postgres, nats, CURRENT, selection=[lifecycle])
    for key in hours:
        run(postgres, nats, key)
    forward = state(seeded)
    assert len({row[1] for row in forward["snapshots"]}) >= 2, "snapshots at several due hours"
    seat_hours = pg_rows(
        seeded,
        "SELECT count(DISTINCT usage_period_start) FROM billing_usage_records WHERE campaign_event_type = 'seat_usage'",
    )[0][0]
    assert seat_hours == 48
    for key in reversed(hours):
        run(postgres, nats, key)
    assert state(seeded) == forward


def test_a_failing_campaign_is_isolated_and_reported(seeded, postgres, nats):
    with seeded.begin() as connection:
        victim = connection.execute(
            sa.text("SELECT id FROM campaigns WHERE status = 'active' AND is_active ORDER BY id LIMIT 1")
        ).scalar_one()
        connection.execute(sa.text("UPDATE campaigns SET target_volunteers = 1 WHERE id = :id"), {"id": victim})
        connection.execute(
            sa.text(
                "UPDATE program_instances SET enrolled_volunteers = 20000, status = 'active' WHERE campaign_id = :id"
            ),
            {"id": victim},
        )
    result = run(postgres, nats, CURRENT, selection=[metrics])
    data = meta(result, "metrics")
    assert [error["campaignId"] for error in data["errors"]] == [str(victim)]
    assert "overflows numeric(8,4)" in data["errors"][0]["error"]
    assert data["campaignsUpdated"] == data["campaignsProcessed"] - 1
    check = result.get_asset_check_evaluations()[0]
    assert check.check_name == "metrics_no_campaign_errors" and not check.passed
    assert (
        pg_rows(
            seeded,
            "SELECT count(*) FROM campaigns WHERE last_metrics_update_at IS NOT NULL AND id <> :id",
            {"id": victim},
        )[0][0]
        == data["campaignsUpdated"]
    )


def test_capacity_crossings_alert_once_per_band_and_flags_clear(seeded, postgres, nats, monkeypatch):
    monkeypatch.setenv("ALERT_EMAIL_TO", "ops@teei.local,oncall@teei.local")
    with seeded.begin() as connection:
        campaign = connection.execute(
            sa.text("SELECT id FROM campaigns WHERE status = 'recruiting' AND is_active ORDER BY id LIMIT 1")
        ).scalar_one()
        connection.execute(
            sa.text(
                "UPDATE campaigns SET target_volunteers = 100, target_beneficiaries = 1000, "
                "capacity_utilization = 0.5 WHERE id = :id"
            ),
            {"id": campaign},
        )
        connection.execute(
            sa.text(
                "UPDATE program_instances SET enrolled_volunteers = 0, enrolled_beneficiaries = 0 "
                "WHERE campaign_id = :id"
            ),
            {"id": campaign},
        )
        connection.execute(
            sa.text(
                "UPDATE program_instances SET enrolled_volunteers = 95, status = 'active' WHERE id = ("
                "SELECT id FROM program_instances WHERE campaign_id = :id ORDER BY id LIMIT 1)"
            ),
            {"id": campaign},
        )
    run(postgres, nats, CURRENT, selection=[metrics])
    alerts = pg_rows(
        seeded,
        "SELECT band, severity, recipients, notification_id FROM capacity_alerts "
        "WHERE campaign_id = :id ORDER BY threshold",
        {"id": campaign},
    )
    assert [(a[0], a[1], a[2]) for a in alerts] == [("80%", "info", ["sales"]), ("90%", "warning", ["company_admin"])]
    queued = pg_rows(
        seeded,
        "SELECT recipient, template_id, payload->>'utilizationPercent' FROM notifications_queue "
        "WHERE dedup_key LIKE :p ORDER BY 1, 2",
        {"p": f"capacity:{campaign}:%"},
    )
    assert queued == [
        ("oncall@teei.local", "capacity-expansion-recommended", "95.0"),
        ("oncall@teei.local", "capacity-upsell-opportunity", "95.0"),
        ("ops@teei.local", "capacity-expansion-recommended", "95.0"),
        ("ops@teei.local", "capacity-upsell-opportunity", "95.0"),
    ]
    assert pg_rows(
        seeded, "SELECT is_near_capacity, is_over_capacity FROM campaigns WHERE id = :id", {"id": campaign}
    ) == [(True, False)]
    run(postgres, nats, CURRENT, selection=[metrics])
    assert len(pg_rows(seeded, "SELECT 1 FROM capacity_alerts WHERE campaign_id = :id", {"id": campaign})) == 2
    with seeded.begin() as connection:  # utilization drops: the flag is cleared, not left set
        connection.execute(
            sa.text("UPDATE program_instances SET enrolled_volunteers = 10 WHERE campaign_id = :id"), {"id": campaign}
        )
    run(postgres, nats, CURRENT, selection=[metrics])
    assert pg_rows(
        seeded, "SELECT is_near_capacity, is_over_capacity FROM campaigns WHERE id = :id", {"id": campaign}
    ) == [(False, False)]


def test_credit_usage_counts_sessions_in_the_hour_and_picks_up_late_ones(seeded, postgres, nats):
    hour = NOW.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    with seeded.begin() as connection:
        campaign, instance, user = connection.execute(
            sa.text("""
            SELECT c.id, pi.id, (SELECT id FROM users ORDER BY id LIMIT 1)
            FROM campaigns c JOIN program_instances pi ON pi.campaign_id = c.id
            WHERE c.pricing_model = 'credits' AND c.status = 'active' AND c.is_active ORDER BY c.id, pi.id LIMIT 1
        """)
        ).one()
        connection.execute(
            sa.text("UPDATE campaigns SET credit_allocation = 20, credit_consumption_rate = 1.5 WHERE id = :id"),
            {"id": campaign},
        )
        connection.execute(sa.text("DELETE FROM kintell_sessions WHERE completed_at >= :h"), {"h": hour})
        insert = sa.text(
            "INSERT INTO kintell_sessions (session_type, participant_id, volunteer_id, completed_at, "
            "duration_minutes, program_instance_id) VALUES ('language', :u, :u, :at, :minutes, :pi)"
        )
        connection.execute(insert, {"u": user, "at": hour + timedelta(minutes=10), "minutes": 60, "pi": instance})
        connection.execute(insert, {"u": user, "at": hour + timedelta(hours=1), "minutes": 600, "pi": instance})
    key = previous_hour_key(NOW)
    dedup = f"campaign:{campaign}:credit_usage:{hour:%Y-%m-%dT%H}"
    run(postgres, nats, key, selection=[credit_usage])
    assert pg_rows(
        seeded, "SELECT quantity, event_type FROM billing_usage_records WHERE deduplication_key = :k", {"k": dedup}
    ) == [(2, "storage_gb")]  # 60 min × 1.5 / 60 = 1.5 → 2; the 11:00 session is next hour
    remaining = pg_rows(seeded, "SELECT credits_remaining FROM campaigns WHERE id = :id", {"id": campaign})[0][0]
    others = pg_rows(
        seeded,
        "SELECT coalesce(sum(quantity), 0) FROM billing_usage_records WHERE campaign_id = :id "
        "AND campaign_event_type = 'credit_usage' AND deduplication_key <> :k",
        {"id": campaign, "k": dedup},
    )[0][0]
    assert remaining == 20 - 2 - others

    with seeded.begin() as connection:  # a late session for the same hour
        connection.execute(insert, {"u": user, "at": hour + timedelta(minutes=50), "minutes": 1200, "pi": instance})
    result = run(postgres, nats, key, selection=[credit_usage])
    assert meta(result, "credit_usage")["usageRecordsUpdated"] == 1
    assert pg_rows(seeded, "SELECT quantity FROM billing_usage_records WHERE deduplication_key = :k", {"k": dedup}) == [
        (32,)
    ]  # 1260 min × 1.5 / 60 = 31.5 → 32
    assert pg_rows(seeded, "SELECT credits_remaining FROM campaigns WHERE id = :id", {"id": campaign})[0][0] < 0
    assert pg_rows(
        seeded,
        "SELECT alert_type, band, dedup_key FROM capacity_alerts WHERE campaign_id = :id AND alert_type = 'low_credit'",
        {"id": campaign},
    ) == [("low_credit", "10%", f"low_credit:{campaign}:{hour.date().isoformat()}")]

    with seeded.begin() as connection:  # once reported to Stripe, a late change is blocked, not applied
        connection.execute(
            sa.text("UPDATE billing_usage_records SET reported_to_stripe = true WHERE deduplication_key = :k"),
            {"k": dedup},
        )
        connection.execute(insert, {"u": user, "at": hour + timedelta(minutes=55), "minutes": 60, "pi": instance})
    result = run(postgres, nats, key, selection=[credit_usage])
    assert meta(result, "credit_usage")["late_adjustment_blocked"] is True
    assert pg_rows(seeded, "SELECT quantity FROM billing_usage_records WHERE deduplication_key = :k", {"k": dedup}) == [
        (32,)
    ]


def test_snapshot_job_snapshots_one_campaign_in_any_status(seeded, postgres):
    campaign = pg_rows(seeded, "SELECT id FROM campaigns WHERE status = 'completed' ORDER BY id LIMIT 1")[0][0]
    hour_before = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    result = campaign_snapshot_job.execute_in_process(
        run_config={"ops": {"campaign_snapshot": {"config": {"campaign_id": str(campaign)}}}},
        resources={"postgres": postgres},
    )
    assert result.success
    rows = pg_rows(
        seeded,
        "SELECT snapshot_date, full_snapshot->>'status' FROM campaign_metrics_snapshots WHERE campaign_id = :id",
        {"id": campaign},
    )
    hour_after = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    assert len(rows) == 1 and rows[0][1] == "completed"  # the final snapshot the original never took
    assert rows[0][0] in {hour_before, hour_after}
    unknown = campaign_snapshot_job.execute_in_process(
        run_config={"ops": {"campaign_snapshot": {"config": {"campaign_id": "00000000-0000-0000-0000-000000000000"}}}},
        resources={"postgres": postgres},
        raise_on_error=False,
    )
    assert not unknown.success


def test_schedules_run_the_hour_that_just_ended():
    for job, schedule in JOBS_AND_SCHEDULES:
        context = dg.build_schedule_context(scheduled_execution_time=datetime(2026, 3, 1, 0, 0, tzinfo=UTC))
        request = schedule(context)
        assert request.partition_key == "2026-02-28-23:00" == request.run_key, job.name


def test_seat_usage_records_carry_the_specified_quantity_key_and_metadata(seeded, postgres, nats):
    result = run(postgres, nats, CURRENT, selection=[metrics, seat_usage])
    hour = datetime.strptime(CURRENT, "%Y-%m-%d-%H:%M").replace(tzinfo=UTC)
    records = pg_rows(
        seeded,
        "SELECT r.deduplication_key, r.quantity, r.event_type, r.usage_period_start, r.metadata, c.id::text, "
        "c.name, c.pricing_model::text, c.target_volunteers, c.current_volunteers, c.l2i_subscription_id::text "
        "FROM billing_usage_records r JOIN campaigns c ON c.id = r.campaign_id "
        "WHERE r.campaign_event_type = 'seat_usage'",
    )
    assert len(records) == meta(result, "seat_usage")["usageRecordsCreated"] > 0
    for key, quantity, event_type, period, metadata, cid, name, pricing, target, current, l2i in records:
        assert key == f"campaign:{cid}:seat_usage:{hour:%Y-%m-%dT%H}"
        assert (quantity, event_type, period) == (current, "active_seats", hour)
        expected = {
            "campaignId": cid,
            "campaignEventType": "seat_usage",
            "campaignName": name,
            "pricingModel": pricing,
            "targetVolunteers": target,
            "utilizationPercent": current / target * 100 if target > 0 else None,
            "partitionKey": CURRENT,
            "runId": result.run_id,
        }
        if pricing == "bundle":
            expected["l2iSubscriptionId"] = l2i
        assert metadata == expected
