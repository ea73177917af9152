"""Synthetics assets on real PostgreSQL, chDB and NATS against the loopback target app: rows in ClickHouse,
incidents opened after the threshold and resolved on recovery exactly once, notifications, red/green checks."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import dagster as dg
import pytest
import sqlalchemy as sa

from teei_pipelines.defs.synthetics.assets import fast_probes, probes
from teei_pipelines.defs.synthetics.store import record_outcomes
from teei_pipelines.domain import monitors as rules
from teei_pipelines.domain.monitors import ProbeResult
from teei_pipelines_tests.synthetic_target import serve_target


@pytest.fixture(scope="module")
def target():
    with serve_target() as (base_url, state):
        yield base_url, state


@pytest.fixture
def site(target, monkeypatch):
    base_url, state = target
    state.reset()
    tenants = [
        {
            "tenant_id": tenant_id,
            "base_url": base_url,
            "sso_metadata_path": "/auth/oidc/.well-known/openid-configuration",
            "report_type": "impact-analysis",
            "deck_id": f"{tenant_id}-001",
            "export_report_id": "test-report-2",
        }
        for tenant_id in ("acme-corp", "globex-inc")
    ]
    monkeypatch.setenv("SYNTHETIC_TENANTS", json.dumps(tenants))
    monkeypatch.setenv("SYNTHETIC_API_TOKEN", "t0ken")
    monkeypatch.setenv("ALERT_EMAIL_TO", "oncall@teei.local")
    return base_url, state


def run(asset, resources, raise_on_error=True) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [asset], resources=resources, instance=dg.DagsterInstance.ephemeral(), raise_on_error=raise_on_error
    )


def checks(result) -> dict[str, bool]:
    return {evaluation.check_name: evaluation.passed for evaluation in result.get_asset_check_evaluations()}


def incidents(clickhouse) -> list[tuple]:
    return clickhouse.client.query(
        f"SELECT monitor_type, tenant_id, severity, resolved, consecutive_failures, resolved_at IS NOT NULL "
        f"FROM {clickhouse.obs_table('synthetic_incidents')} FINAL ORDER BY monitor_type, tenant_id"
    ).result_rows


def incident_mail(engine) -> list[tuple]:
    with engine.connect() as connection:
        return connection.execute(
            sa.text(
                "SELECT payload->>'monitor', payload->>'target', payload->>'state', payload->>'consecutiveFailures' "
                "FROM notifications_queue WHERE template_id = 'synthetic-incident' ORDER BY created_at, id"
            )
        ).all()


def test_incident_opens_after_two_failures_and_resolves_once(site, postgres, clickhouse, engine):
    _, state = site
    resources = {"postgres": postgres, "clickhouse": clickhouse}

    first = run(probes, resources)
    assert all(checks(first).values()), checks(first)
    rows = clickhouse.client.query(
        f"SELECT monitor_type, tenant_id, success, tags['run_id'] FROM {clickhouse.obs_table('synthetic_probes')}"
    ).result_rows
    assert len(rows) == 16 and all(r[2] == 1 for r in rows) and {r[3] for r in rows} == {first.run_id}

    state.modes["tiles"] = "invalid_tile"
    second = run(probes, resources)  # failure 1 of 2: no incident yet
    assert checks(second)["boardroom_deck_passing"] is False
    assert checks(second)["no_open_critical_incident"] is True
    assert incidents(clickhouse) == [] and incident_mail(engine) == []

    third = run(probes, resources)  # failure 2: both tenants open an incident
    assert checks(third)["no_open_critical_incident"] is False
    assert incidents(clickhouse) == [
        ("boardroom_deck", "acme-corp", "critical", 0, 2, False),
        ("boardroom_deck", "globex-inc", "critical", 0, 2, False),
    ]
    run(probes, resources)  # failure 3: still one incident each, no new mail
    assert [m[2] for m in incident_mail(engine)] == ["opened", "opened"]

    state.modes.clear()
    recovered = run(probes, resources)
    assert all(checks(recovered).values())
    assert incidents(clickhouse) == [
        ("boardroom_deck", "acme-corp", "critical", 1, 3, True),
        ("boardroom_deck", "globex-inc", "critical", 1, 3, True),
    ]
    run(probes, resources)  # a second success changes nothing
    mail = incident_mail(engine)
    assert sorted(m[2] for m in mail) == ["opened", "opened", "resolved", "resolved"]
    assert {m[0] for m in mail} == {"boardroom_deck"}
    with engine.connect() as connection:
        assert (
            connection.execute(
                sa.text("SELECT count(*) FROM synthetic_monitor_state WHERE open_incident_id IS NOT NULL")
            ).scalar_one()
            == 0
        )
    rollup = clickhouse.client.query(
        f"SELECT sum(total_count), sum(failure_count) FROM {clickhouse.obs_table('synthetic_probes_hourly')}"
    ).result_rows
    assert rollup == [(96, 6)]


def test_probes_need_the_api_token(site, postgres, clickhouse, monkeypatch):
    monkeypatch.delenv("SYNTHETIC_API_TOKEN")
    result = run(probes, {"postgres": postgres, "clickhouse": clickhouse}, raise_on_error=False)
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.error
    assert "SYNTHETIC_API_TOKEN" in failure.to_string()


def test_fast_probes_check_our_own_stack(postgres, clickhouse, nats, monkeypatch):
    monkeypatch.setenv("WEBHOOK_RECEIVER_URL", "http://127.0.0.1:9")  # nothing listens: the receiver is down
    result = run(fast_probes, {"postgres": postgres, "clickhouse": clickhouse, "nats": nats})
    outcome = checks(result)
    assert outcome["self_postgres_passing"] and outcome["self_nats_passing"] and outcome["self_clickhouse_passing"]
    assert outcome["self_receiver_passing"] is False and outcome["all_targets_probed"]
    stored = clickhouse.client.query(
        f"SELECT monitor_type, success, error_message FROM {clickhouse.obs_table('synthetic_probes')} ORDER BY 1"
    ).result_rows
    assert [(m, s) for m, s, _ in stored] == [
        ("self_clickhouse", 1),
        ("self_nats", 1),
        ("self_postgres", 1),
        ("self_receiver", 0),
    ]
    assert "connection error" in stored[3][2]


def test_critical_connectors_and_the_trust_center_open_on_the_first_failure(engine, clickhouse, monkeypatch):
    monkeypatch.setenv("ALERT_EMAIL_TO", "oncall@teei.local")

    def failing(monitor_type: str, target: str) -> ProbeResult:
        result = ProbeResult(monitor_type, target)
        result.fail("health: HTTP 503, expected 200")
        return result

    batch = [
        failing("connectors_health", "benevity"),
        failing("connectors_health", "kintell"),
        failing("trust_center_status", rules.TRUST_CENTER_TARGET),
    ]
    with engine.begin() as connection:
        changes = record_outcomes(connection, clickhouse, batch, datetime.now(UTC), "local")
    assert [(c.target, c.severity, c.state) for c in changes] == [
        ("benevity", "critical", "opened"),
        ("trust-center", "critical", "opened"),
    ]
    with engine.begin() as connection:
        again = record_outcomes(connection, clickhouse, batch, datetime.now(UTC), "local")
    assert [(c.target, c.severity, c.state) for c in again] == [("kintell", "warning", "opened")]
    assert sorted(m[1] for m in incident_mail(engine)) == ["benevity", "kintell", "trust-center"]
