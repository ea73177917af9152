"""Storing probe results (q2q-synthetics.md §8, §10): rows into ClickHouse, failure counters and incident
decisions in PostgreSQL in one transaction, each new or resolved incident as a synthetic_incidents version and a
`synthetic-incident` notification (dedup `incident:<id>:<opened|resolved>`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from teei_pipelines.domain import monitors as rules
from teei_pipelines.domain.monitors import ProbeResult
from teei_pipelines.domain.templates import CATALOGUE
from teei_pipelines.notify import enqueue_email
from teei_pipelines.pgio import query
from teei_pipelines.resources.clickhouse import ClickHouseResource
from teei_pipelines.settings import alert_recipients

PROBE_COLUMNS = (
    "timestamp",
    "probe_id",
    "monitor_type",
    "region",
    "tenant_id",
    "success",
    "response_time_ms",
    "error_message",
    "status_code",
    "first_byte_ms",
    "content_transfer_ms",
    "within_performance_gate",
    "performance_gate_ms",
    "file_size_bytes",
    "content_hash",
    "components_count",
    "components_failed",
    "tags",
)
INCIDENT_COLUMNS = (
    "incident_id",
    "started_at",
    "resolved_at",
    "monitor_type",
    "region",
    "tenant_id",
    "severity",
    "consecutive_failures",
    "error_message",
    "resolved",
    "resolution_notes",
    "version",
)
HEALTH_COLUMNS = (
    "timestamp",
    "connector_name",
    "region",
    "healthy",
    "response_time_ms",
    "status_code",
    "database_healthy",
    "redis_healthy",
    "queue_healthy",
    "external_api_healthy",
    "version",
    "uptime_seconds",
    "error_message",
)


def write_probes(
    clickhouse: ClickHouseResource, results: Sequence[ProbeResult], probed_at: datetime, region: str, run_id: str
) -> None:
    rows = [
        [
            probed_at,
            uuid.uuid4(),
            r.monitor_type,
            region,
            r.target,
            int(r.success),
            r.response_time_ms,
            r.error_message,
            r.status_code,
            r.first_byte_ms,
            r.content_transfer_ms,
            int(r.within_performance_gate),
            r.performance_gate_ms,
            r.file_size_bytes,
            r.content_hash,
            r.components_count,
            r.components_failed,
            {**r.tags, "run_id": run_id},
        ]
        for r in results
    ]
    clickhouse.client.insert(clickhouse.obs_table("synthetic_probes"), rows, column_names=list(PROBE_COLUMNS))
    health = [
        [probed_at, r.target, region, *(r.connector_health.get(c) for c in HEALTH_COLUMNS[3:])]
        for r in results
        if r.connector_health is not None
    ]
    if health:
        clickhouse.client.insert(clickhouse.obs_table("connector_health"), health, column_names=list(HEALTH_COLUMNS))


@dataclass(frozen=True)
class IncidentChange:
    incident_id: str
    monitor_type: str
    target: str
    state: str  # opened | resolved
    severity: str
    consecutive_failures: int
    error: str
    started_at: datetime
    resolved_at: datetime | None


def _millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def record_outcomes(
    connection: sa.Connection,
    clickhouse: ClickHouseResource,
    results: Sequence[ProbeResult],
    probed_at: datetime,
    region: str,
) -> list[IncidentChange]:
    """Update the counters, open and resolve incidents, enqueue their notifications; the ClickHouse incident
    versions are written before the PostgreSQL transaction commits, so a failed insert rolls the decision back."""
    pairs = [(r.monitor_type, r.target) for r in results]
    connection.execute(
        sa.text(query("synthetics/state_ensure")), [{"monitor_type": m, "target_key": t} for m, t in pairs]
    )
    locked = {
        (row.monitor_type, row.target_key): row
        for row in connection.execute(
            sa.text(query("synthetics/state_lock")),
            {"monitor_types": [m for m, _ in pairs], "target_keys": [t for _, t in pairs]},
        )
    }
    changes: list[IncidentChange] = []
    updates = []
    for result in results:
        row = locked[(result.monitor_type, result.target)]
        decision = rules.decide_incident(
            rules.MonitorState(row.consecutive_failures, row.open_incident_id is not None),
            result.success,
            rules.threshold_for(result.monitor_type, result.target),
        )
        incident_id, started_at = row.open_incident_id, row.open_incident_started_at
        if decision.action == "opened":
            incident_id, started_at = uuid.uuid4(), probed_at
        if decision.action:
            changes.append(
                IncidentChange(
                    str(incident_id),
                    result.monitor_type,
                    result.target,
                    decision.action,
                    rules.severity_for(result.monitor_type, result.target),
                    decision.consecutive_failures if decision.action == "opened" else row.consecutive_failures,
                    result.error_message or "",
                    started_at,
                    probed_at if decision.action == "resolved" else None,
                )
            )
        if decision.action == "resolved":
            incident_id, started_at = None, None
        updates.append(
            {
                "monitor_type": result.monitor_type,
                "target_key": result.target,
                "consecutive_failures": decision.consecutive_failures,
                "last_success": result.success,
                "probed_at": probed_at,
                "open_incident_id": incident_id,
                "open_incident_started_at": started_at,
            }
        )
    connection.execute(sa.text(query("synthetics/state_update")), updates)
    for change in changes:
        enqueue_email(
            connection,
            template_id="synthetic-incident",
            subject=CATALOGUE["synthetic-incident"],
            payload={
                "incidentId": change.incident_id,
                "monitor": change.monitor_type,
                "target": change.target,
                "severity": change.severity,
                "state": change.state,
                "consecutiveFailures": change.consecutive_failures,
                "error": change.error,
                "startedAt": change.started_at.isoformat(),
                "resolvedAt": change.resolved_at.isoformat() if change.resolved_at else None,
            },
            dedup_key=f"incident:{change.incident_id}:{change.state}",
            recipients=alert_recipients(),
        )
    if changes:
        clickhouse.client.insert(
            clickhouse.obs_table("synthetic_incidents"),
            [
                [
                    uuid.UUID(c.incident_id),
                    c.started_at,
                    c.resolved_at,
                    c.monitor_type,
                    region,
                    c.target,
                    c.severity,
                    c.consecutive_failures,
                    c.error,
                    int(c.state == "resolved"),
                    "monitor passed" if c.state == "resolved" else "",
                    _millis(probed_at),
                ]
                for c in changes
            ],
            column_names=list(INCIDENT_COLUMNS),
        )
    return changes
