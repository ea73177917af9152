"""The ten synthetic monitors against a real HTTP server on loopback (q2q-synthetics.md §8, §9): each passes on
good responses and fails for the right reason on each bad one; gates are soft; quality only warns."""

from __future__ import annotations

import pytest

from teei_pipelines.defs.synthetics import monitors
from teei_pipelines.domain import monitors as rules
from teei_pipelines_tests.synthetic_target import requests_to, serve_target

TOKEN = "synthetic-test-token"


@pytest.fixture(scope="module")
def target():
    with serve_target() as (base_url, state):
        yield base_url, state


@pytest.fixture
def site(target):
    base_url, state = target
    state.reset()
    return base_url, state


def tenant(base_url: str, sso: str = "/auth/saml/metadata") -> rules.Tenant:
    return rules.Tenant("acme-corp", base_url, sso, "executive-summary", "acme-001", "test-report-1")


@pytest.mark.parametrize("monitor_type", rules.TENANT_MONITORS)
def test_each_tenant_monitor_passes_on_good_responses(site, monitor_type):
    base_url, state = site
    result = monitors.probe_tenant(monitor_type, tenant(base_url), TOKEN)
    assert result.success, result.error_message
    assert result.within_performance_gate, result.tags
    assert result.warnings == []
    assert result.target == "acme-corp" and result.response_time_ms >= 0
    assert any(key.startswith("step.") for key in result.tags)
    headers = [h for _, _, h in state.requests]
    assert headers and all(h["user-agent"] == "TEEI-SyntheticMonitor/1.0" for h in headers)
    assert all(h["x-synthetic-monitor"] == "true" for h in headers)
    if monitor_type == "tenant_login":
        assert all("authorization" not in h for h in headers)  # the login path is unauthenticated
    else:
        assert all(h["authorization"] == f"Bearer {TOKEN}" for h in headers)


def test_measured_timings_and_file_facts(site):
    base_url, _ = site
    dashboard = monitors.probe_tenant("dashboard_load", tenant(base_url), TOKEN)
    assert dashboard.first_byte_ms is not None and dashboard.content_transfer_ms is not None
    assert dashboard.file_size_bytes > 5000 and dashboard.tags["sse"] == "200"
    login = monitors.probe_tenant("tenant_login", tenant(base_url), TOKEN)
    assert login.first_byte_ms is None  # not measured, so not fabricated
    pdf = monitors.probe_tenant("export_pdf", tenant(base_url), TOKEN)
    assert pdf.file_size_bytes > 1024 and len(pdf.content_hash) == 64


FAILURES = [
    ("tenant_login", "health", "500", "health: HTTP 500"),
    ("tenant_login", "saml", "500", "sso_metadata: HTTP 500"),
    ("dashboard_load", "dashboard", "500", "dashboard: HTTP 500"),
    ("dashboard_load", "governance_status", "slow", "governance_status: timed out after 1 s"),
    ("dashboard_load", "reports_recent", "500", "reports_recent: HTTP 500"),
    ("report_generation", "generate", "malformed", "generate: response is not JSON"),
    ("report_generation", "generate", "no_content", "reportId or content missing"),
    ("report_generation", "generate", "500", "generate: HTTP 500"),
    ("export_pdf", "export_pdf", "no_url", "no downloadUrl or url"),
    ("export_pdf", "file_pdf", "bad_magic", "not a PDF file"),
    ("export_pdf", "file_pdf", "small", "500 bytes, below the 1024 byte minimum"),
    ("export_pdf", "file_pdf", "500", "download: HTTP 500"),
    ("export_pptx", "file_pptx", "bad_magic", "not a PPTX (ZIP) file"),
    ("export_pptx", "file_pptx", "small", "below the 10240 byte minimum"),
    ("approval_workflow", "draft", "bad_state", "draft: state 'wrong', expected 'draft'"),
    ("approval_workflow", "review", "bad_state", "submit_review: state 'wrong', expected 'in_review'"),
    ("approval_workflow", "approve", "500", "approve: HTTP 500"),
    ("approval_workflow", "audit", "500", "audit_trail: HTTP 500"),
    ("evidence_explorer", "evidence_list", "empty", "list: no evidence items"),
    ("evidence_explorer", "evidence_list", "missing_source", "list: item 3 lacks id, type or source"),
    ("evidence_explorer", "lineage", "500", "lineage: HTTP 500"),
    ("evidence_explorer", "evidence_search", "malformed", "search: response is not JSON"),
    ("boardroom_deck", "deck", "500", "deck: HTTP 500"),
    ("boardroom_deck", "tiles", "invalid_tile", "tiles: 1 invalid tiles (first at index 5)"),
    ("boardroom_deck", "tiles", "not_array", "tiles: `tiles` is not an array"),
]


@pytest.mark.parametrize(("monitor_type", "route", "mode", "reason"), FAILURES)
def test_each_tenant_monitor_fails_for_the_right_reason(site, monitor_type, route, mode, reason):
    base_url, state = site
    state.modes[route] = mode
    result = monitors.probe_tenant(monitor_type, tenant(base_url), TOKEN)
    assert not result.success
    assert reason in result.error_message, result.error_message


def test_approval_workflow_cleans_up_after_a_failure(site):
    base_url, state = site
    state.modes["review"] = "bad_state"
    result = monitors.probe_tenant("approval_workflow", tenant(base_url), TOKEN)
    assert not result.success
    assert requests_to(state, "DELETE", "/api/reports/draft-1")
    assert result.tags["cleanup"] == "204"


def test_latency_gates_are_soft(site):
    base_url, state = site
    state.modes["login"] = "slow"
    state.slow_s = 2.1
    result = monitors.probe_tenant("tenant_login", tenant(base_url), TOKEN)
    assert result.success and not result.within_performance_gate
    assert result.performance_gate_ms == 2000 and result.tags["gate.login_page"].endswith(">2000")
    assert result.response_time_ms >= 2100


def test_report_timings_over_budget_fail_the_gate_and_sse_failure_is_non_fatal(site):
    base_url, state = site
    state.modes["generate"] = "slow_timings"
    state.modes["stream"] = "500"
    report = monitors.probe_tenant("report_generation", tenant(base_url), TOKEN)
    assert report.success and not report.within_performance_gate and "gate.q2qProcessing" in report.tags
    dashboard = monitors.probe_tenant("dashboard_load", tenant(base_url), TOKEN)
    assert dashboard.success and dashboard.tags["sse"] == "-1"


def test_an_unhealthy_connector_dependency_only_warns(site):
    base_url, state = site
    state.modes["connector"] = "degraded_redis"
    result = monitors.probe_connector("kintell", f"{base_url}/connectors/kintell")
    assert result.success and result.warnings == ["redis_degraded"]
    assert result.connector_health["redis_healthy"] == 0 and result.connector_health["database_healthy"] == 1
    assert result.connector_health["version"] == "1.4.2" and result.connector_health["uptime_seconds"] == 3600


@pytest.mark.parametrize(("mode", "reason"), [("unhealthy", "status 'unhealthy'"), ("500", "health: HTTP 500")])
def test_connector_fails_on_unhealthy_status_even_with_http_200(site, mode, reason):
    base_url, state = site
    state.modes["connector"] = mode
    result = monitors.probe_connector("benevity", f"{base_url}/connectors/benevity")
    assert not result.success and reason in result.error_message
    assert result.connector_health["healthy"] == 0


def test_connection_refused_is_a_failure_with_a_reason():
    result = monitors.probe_connector("workday", "http://127.0.0.1:9")
    assert not result.success and "connection error" in result.error_message
    assert result.status_code is None


@pytest.mark.parametrize(
    ("mode", "status"), [("ok", "operational"), ("minor", "degraded"), ("critical", "major_outage")]
)
def test_trust_center_maps_statuspage_indicators(site, mode, status):
    base_url, state = site
    state.modes["trust_center"] = mode
    result = monitors.probe_trust_center(f"{base_url}/status.json")
    assert result.success
    assert result.tags["system_status"] == status
    assert (result.tags["unresolved_incidents"], result.tags["maintenances"]) == ("1", "1")
    assert (result.components_count, result.components_failed) == (3, 1)
    headers = requests_to(state, "GET", "/status.json")
    assert headers[-1]["user-agent"] == "TEEI-Synthetics/1.0"


def test_trust_center_failures(site):
    base_url, state = site
    state.modes["trust_center"] = "500"
    assert "status: HTTP 500" in monitors.probe_trust_center(f"{base_url}/status.json").error_message
    state.modes["trust_center"] = "malformed"
    assert "not JSON" in monitors.probe_trust_center(f"{base_url}/status.json").error_message
    state.modes["trust_center"] = "slow"
    state.slow_s = 0.6
    slow = monitors.probe_trust_center(f"{base_url}/status.json")
    assert slow.success and not slow.within_performance_gate


def test_system_status_rules():
    assert rules.system_status({"systemStatus": "partial_outage"}) == "partial_outage"
    assert rules.system_status({"systemStatus": "weird"}) == "degraded"
    assert rules.system_status({"status": {"indicator": "major"}}) == "partial_outage"


def test_incident_state_machine():
    closed = rules.MonitorState(0, False)
    first = rules.decide_incident(closed, False, 2)
    assert (first.consecutive_failures, first.action) == (1, None)
    second = rules.decide_incident(rules.MonitorState(1, False), False, 2)
    assert (second.consecutive_failures, second.action) == (2, "opened")
    still = rules.decide_incident(rules.MonitorState(2, True), False, 2)
    assert (still.consecutive_failures, still.action) == (3, None)
    recovered = rules.decide_incident(rules.MonitorState(3, True), True, 2)
    assert (recovered.consecutive_failures, recovered.action) == (0, "resolved")
    assert rules.decide_incident(closed, False, 1).action == "opened"
    assert rules.threshold_for("connectors_health", "benevity") == 1
    assert rules.threshold_for("connectors_health", "kintell") == 2
    assert rules.threshold_for("trust_center_status", "trust-center") == 1
    assert rules.severity_for("connectors_health", "buddy") == "warning"


def test_tenant_config_parsing():
    assert [t.tenant_id for t in rules.parse_tenants("")] == ["acme-corp", "globex-inc", "initech-ltd"]
    parsed = rules.parse_tenants(
        '[{"tenantId": "t1", "baseUrl": "http://x", "ssoMetadataPath": "/m", "reportType": "r", "deckId": "d", '
        '"exportReportId": "e"}]'
    )
    assert parsed[0].base_url == "http://x"
    with pytest.raises(ValueError, match="lacks 'deck_id'"):
        rules.parse_tenants(
            '[{"tenant_id": "t"}]'.replace(
                '"t"}', '"t", "base_url": "b", "sso_metadata_path": "s", "report_type": "r"}'
            )
        )
    with pytest.raises(ValueError, match="not valid JSON"):
        rules.parse_tenants("[{")
