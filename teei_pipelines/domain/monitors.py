"""Synthetic monitoring rules without I/O (q2q-synthetics.md §7-§9): targets and their defaults, probe results,
content and structure checks, Statuspage mapping, and the incident state machine.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

TENANT_MONITORS = (
    "tenant_login",
    "dashboard_load",
    "report_generation",
    "export_pdf",
    "export_pptx",
    "approval_workflow",
    "evidence_explorer",
    "boardroom_deck",
)
SELF_MONITORS = ("self_receiver", "self_postgres", "self_nats", "self_clickhouse")
FAST_REMOTE_MONITORS = ("connectors_health", "trust_center_status")
CRITICAL_CONNECTORS = ("benevity", "goodera", "workday")
CONNECTOR_PORTS = {
    "benevity": 3010,
    "goodera": 3011,
    "workday": 3012,
    "kintell": 3013,
    "buddy": 3014,
    "upskilling": 3015,
}
TRUST_CENTER_TARGET = "trust-center"
SELF_TARGET = "local"

DEFAULT_TENANTS: list[dict[str, str]] = [
    {
        "tenant_id": "acme-corp",
        "base_url": "https://acme.teei-platform.com",
        "sso_metadata_path": "/auth/saml/metadata",
        "report_type": "executive-summary",
        "deck_id": "acme-001",
        "export_report_id": "test-report-1",
    },
    {
        "tenant_id": "globex-inc",
        "base_url": "https://globex.teei-platform.com",
        "sso_metadata_path": "/auth/oidc/.well-known/openid-configuration",
        "report_type": "impact-analysis",
        "deck_id": "globex-001",
        "export_report_id": "test-report-2",
    },
    {
        "tenant_id": "initech-ltd",
        "base_url": "https://initech.teei-platform.com",
        "sso_metadata_path": "/auth/oidc/.well-known/openid-configuration",
        "report_type": "governance-report",
        "deck_id": "initech-001",
        "export_report_id": "test-report-3",
    },
]
TENANT_FIELDS = ("tenant_id", "base_url", "sso_metadata_path", "report_type", "deck_id", "export_report_id")


@dataclass(frozen=True)
class Tenant:
    tenant_id: str
    base_url: str
    sso_metadata_path: str
    report_type: str
    deck_id: str
    export_report_id: str


def parse_tenants(raw: str | None) -> list[Tenant]:
    """SYNTHETIC_TENANTS: a JSON list of objects with TENANT_FIELDS (camelCase accepted); empty → the defaults."""
    if raw is None or not raw.strip():
        items: Any = DEFAULT_TENANTS
    else:
        try:
            items = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ValueError(f"SYNTHETIC_TENANTS is not valid JSON: {exc}") from exc
    if not isinstance(items, list) or not items:
        raise ValueError("SYNTHETIC_TENANTS must be a non-empty JSON list of tenant objects")
    tenants = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise ValueError(f"SYNTHETIC_TENANTS[{index}] is not an object")
        values = {}
        for name in TENANT_FIELDS:
            camel = "".join(part if i == 0 else part.title() for i, part in enumerate(name.split("_")))
            value = item.get(name, item.get(camel))
            if not isinstance(value, str) or not value:
                raise ValueError(f"SYNTHETIC_TENANTS[{index}] lacks {name!r}")
            values[name] = value
        tenants.append(Tenant(**values))
    return tenants


@dataclass
class ProbeResult:
    """One synthetic_probes row (§8). success=False is a hard failure; gates are soft."""

    monitor_type: str
    target: str
    success: bool = True
    response_time_ms: int = 0
    error_message: str | None = None
    status_code: int | None = None
    first_byte_ms: int | None = None
    content_transfer_ms: int | None = None
    within_performance_gate: bool = True
    performance_gate_ms: int = 0
    file_size_bytes: int | None = None
    content_hash: str | None = None
    components_count: int | None = None
    components_failed: int | None = None
    tags: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    connector_health: dict[str, Any] | None = None

    def fail(self, message: str) -> None:
        if self.success:  # the first hard failure is the reason
            self.success = False
            self.error_message = message

    def gate(self, name: str, actual_ms: float, budget_ms: int) -> None:
        """A latency budget: over it sets within_performance_gate = 0 and names the gate in the tags."""
        if actual_ms > budget_ms:
            self.within_performance_gate = False
            self.tags[f"gate.{name}"] = f"{round(actual_ms)}>{budget_ms}"

    def gates(self, *measured: tuple[str, float, int]) -> None:
        """Several latency budgets at once: (name, measured ms, budget ms)."""
        for name, actual_ms, budget_ms in measured:
            self.gate(name, actual_ms, budget_ms)

    def warn(self, tag: str) -> None:
        self.warnings.append(tag)


def threshold_for(monitor_type: str, target: str) -> int:
    """Consecutive failures that open an incident: 1 for the critical connectors and the trust center, else 2."""
    if monitor_type == "trust_center_status" or (monitor_type == "connectors_health" and target in CRITICAL_CONNECTORS):
        return 1
    return 2


def severity_for(monitor_type: str, target: str) -> str:
    if monitor_type == "connectors_health" and target not in CRITICAL_CONNECTORS:
        return "warning"
    return "critical"


@dataclass(frozen=True)
class MonitorState:
    consecutive_failures: int
    open_incident: bool


@dataclass(frozen=True)
class IncidentDecision:
    consecutive_failures: int
    action: str | None  # "opened" | "resolved" | None


def decide_incident(state: MonitorState, success: bool, threshold: int) -> IncidentDecision:
    """+1 on failure, 0 on success; open when the counter reaches the threshold and none is open; the first
    success while one is open resolves it."""
    if success:
        return IncidentDecision(0, "resolved" if state.open_incident else None)
    failures = state.consecutive_failures + 1
    opens = failures >= threshold and not state.open_incident
    return IncidentDecision(failures, "opened" if opens else None)


STATUSPAGE_INDICATORS = {
    "none": "operational",
    "minor": "degraded",
    "major": "partial_outage",
    "critical": "major_outage",
}
SYSTEM_STATUSES = ("operational", "degraded", "partial_outage", "major_outage")


def system_status(body: dict[str, Any]) -> str:
    status = body.get("status")
    if isinstance(status, dict) and status.get("indicator") in STATUSPAGE_INDICATORS:
        return STATUSPAGE_INDICATORS[status["indicator"]]
    if body.get("systemStatus") in SYSTEM_STATUSES:
        return body["systemStatus"]
    return "degraded"


def invalid_tiles(tiles: list[Any]) -> list[int]:
    """Indexes of tiles with a null value or a label/type that is not a string."""
    return [
        index
        for index, tile in enumerate(tiles)
        if not isinstance(tile, dict)
        or tile.get("value") is None
        or not isinstance(tile.get("label"), str)
        or not isinstance(tile.get("type"), str)
    ]


def missing_markers(content: bytes, groups: tuple[tuple[bytes, ...], ...]) -> list[str]:
    """The marker groups none of whose alternatives occurs in `content`, as 'A/B' labels."""
    return ["/".join(m.decode() for m in group) for group in groups if not any(m in content for m in group)]


PDF_MARKERS = ((b"TEEI", b"Watermark"), (b"Evidence", b"Hash"), (b"/Producer", b"/Creator"))
PPTX_MARKERS = ((b"Cover", b"Title"), (b"KPI", b"Metric"), (b"Chart", b"graph"), (b"Evidence", b"Link"))


def is_zip_magic(head: bytes) -> bool:
    return len(head) >= 3 and head[:2] == b"PK" and head[2] in (0x03, 0x05, 0x07)
