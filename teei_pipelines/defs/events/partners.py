"""`process_partner_callbacks` (events-webhooks.md §4-§5): stored Benevity, Goodera and Workday callbacks update
impact_deliveries. Each inbox row ends processed, unmatched (no delivery names the transaction) or rejected."""

import json
from dataclasses import dataclass

import sqlalchemy as sa

from teei_pipelines.defs.common import inbox_processing_job
from teei_pipelines.domain.partners import partner_update
from teei_pipelines.outbox import finish_inbox_row
from teei_pipelines.pgio import query


@dataclass
class PartnerReport:
    requests: int = 0
    updated: int = 0
    unmatched: int = 0
    rejected: int = 0


def process_partner_inbox(engine: sa.Engine, limit: int = 500) -> PartnerReport:
    report = PartnerReport()
    with engine.begin() as connection:
        for row in connection.execute(sa.text(query("events/partner_inbox")), {"limit": limit}).all():
            report.requests += 1
            try:
                update = partner_update(row.source, json.loads(bytes(row.raw_body)))
            except (ValueError, UnicodeDecodeError, AttributeError) as exc:
                finish_inbox_row(connection, row.id, "rejected", str(exc))
                report.rejected += 1
                continue
            updated = connection.execute(
                sa.text(query("events/partner_delivery_update")),
                {
                    "status": update.status,
                    "error_msg": update.error_msg,
                    "platform": row.source,
                    "transaction_id": update.transaction_id,
                },
            ).first()
            if updated is None:
                finish_inbox_row(connection, row.id, "unmatched", None)
                report.unmatched += 1
            else:
                finish_inbox_row(connection, row.id, "processed", None)
                report.updated += 1
    return report


process_partner_callbacks = inbox_processing_job(
    "process_partner_callbacks",
    process_partner_inbox,
    "Benevity, Goodera and Workday callbacks stored by the receiver → impact_deliveries status (§5).",
    "events",
)
