"""Migrations: ordered, recorded with checksums, idempotent, refusing edited files; every spec table exists."""

from __future__ import annotations

import shutil

import pytest
import sqlalchemy as sa

from teei_pipelines.errors import MigrationError
from teei_pipelines.migrations import (
    SQL_DIR,
    load_migrations,
    migrate_clickhouse,
    migrate_postgres,
    split_statements,
)

SPEC_POSTGRES_TABLES = {
    "companies",
    "users",
    "user_external_ids",
    "program_templates",
    "beneficiary_groups",
    "l2i_subscriptions",
    "billing_subscriptions",
    "campaigns",
    "program_instances",
    "campaign_metrics_snapshots",
    "billing_usage_records",
    "capacity_alerts",
    "program_enrollments",
    "kintell_sessions",
    "buddy_matches",
    "buddy_system_events",
    "vis_scores",
    "vis_scores_daily",
    "outcome_scores",
    "q2q_budgets",
    "q2q_budget_usage",
    "q2q_budget_events",
    "q2q_cache",
    "q2q_classifications",
    "webhook_inbox",
    "event_outbox",
    "impact_deliveries",
    "notification_schedules",
    "notifications_queue",
    "notifications_delivery_receipts",
    "notifications_quotas",
    "synthetic_monitor_state",
}
SPEC_CLICKHOUSE_TABLES = {
    "outcome_scores_ch",
    "user_events_ch",
    "vis_scores_ch",
    "campaign_metrics_snapshots_ch",
    "companies_ch",
    "sync_status",
    "cost_facts",
    "finops_sync_status",
    "ai_token_telemetry",
    "compute_telemetry",
    "storage_telemetry",
    "export_telemetry",
    "egress_telemetry",
}


def test_every_spec_table_exists_and_the_ledger_records_each_file(engine):
    with engine.connect() as connection:
        tables = set(
            connection.execute(sa.text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).scalars()
        )
        ledger = dict(connection.execute(sa.text("SELECT filename, checksum FROM schema_migrations")).all())
    assert tables >= SPEC_POSTGRES_TABLES
    files = load_migrations("postgres")
    assert ledger == {m.name: m.checksum for m in files}


def test_rerun_is_a_no_op(engine):
    report = migrate_postgres(engine)
    assert report.applied == ()
    assert len(report.already_applied) == len(load_migrations("postgres"))


def test_an_edited_applied_file_is_refused(engine, tmp_path):
    sql_dir = tmp_path / "sql"
    shutil.copytree(SQL_DIR, sql_dir)
    path = sql_dir / "postgres" / "002_core.sql"
    path.write_text(path.read_text() + "\n-- edited after it was applied\n")
    with pytest.raises(MigrationError, match=r"002_core\.sql was applied with checksum"):
        migrate_postgres(engine, sql_dir)


def test_a_new_file_is_applied_in_order_and_recorded(engine, tmp_path):
    sql_dir = tmp_path / "sql"
    shutil.copytree(SQL_DIR, sql_dir)
    (sql_dir / "postgres" / "999_probe.sql").write_text("CREATE TABLE probe (id int PRIMARY KEY);")
    report = migrate_postgres(engine, sql_dir)
    assert report.applied == ("999_probe.sql",)
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM probe")).scalar_one() == 0


def test_a_failing_migration_leaves_no_partial_state(engine, tmp_path):
    sql_dir = tmp_path / "sql"
    shutil.copytree(SQL_DIR, sql_dir)
    (sql_dir / "postgres" / "998_broken.sql").write_text("CREATE TABLE half_done (id int);\nSELECT nope FROM missing;")
    with pytest.raises(sa.exc.ProgrammingError):
        migrate_postgres(engine, sql_dir)
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT to_regclass('half_done')")).scalar_one() is None
        assert (
            connection.execute(
                sa.text("SELECT count(*) FROM schema_migrations WHERE filename = '998_broken.sql'")
            ).scalar_one()
            == 0
        )


def test_badly_named_files_are_rejected(tmp_path):
    (tmp_path / "postgres").mkdir()
    (tmp_path / "postgres" / "1_bad.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="NNN_lower_snake"):
        load_migrations("postgres", tmp_path)


@pytest.mark.parametrize(
    ("statement", "error"),
    [
        # Spec keys: a natural key per table, so re-runs cannot duplicate.
        (
            "INSERT INTO outcome_scores (text_id, text_type, dimension, score, model_version) VALUES "
            "('00000000-0000-0000-0000-000000000001', NULL, 'confidence', 0.5, 'v1'), "
            "('00000000-0000-0000-0000-000000000001', NULL, 'confidence', 0.5, 'v1')",
            sa.exc.IntegrityError,
        ),
        (
            "INSERT INTO webhook_inbox (source, endpoint, delivery_id, headers, raw_body, body_sha256) VALUES "
            "('kintell', '/x', 'd1', '{}', 'a', repeat('0', 64)), ('kintell', '/x', 'd1', '{}', 'b', repeat('1', 64))",
            sa.exc.IntegrityError,
        ),
        (
            "INSERT INTO notification_schedules (name, cron_expression, template_id, recipients) VALUES "
            "('empty recipients', '0 9 * * 1', 'weekly-report', '[]')",
            sa.exc.IntegrityError,
        ),
        (
            "INSERT INTO vis_scores (user_id, current_vis, as_of) VALUES ('u', -1, now())",
            sa.exc.IntegrityError,
        ),
    ],
)
def test_constraints_reject_bad_rows(engine, statement, error):
    with pytest.raises(error), engine.begin() as connection:
        connection.execute(sa.text(statement))


def test_snapshot_budget_remaining_may_be_negative(engine):
    """campaigns.md §8: the original's budget_remaining >= 0 CHECK is dropped so overspend is recordable."""
    with engine.connect() as connection:
        checks = (
            connection.execute(
                sa.text(
                    "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                    "WHERE conrelid = 'campaign_metrics_snapshots'::regclass AND contype = 'c'"
                )
            )
            .scalars()
            .all()
        )
    assert checks, "the snapshot table has CHECK constraints"
    assert not any("budget_remaining" in check for check in checks)


def test_clickhouse_migrations_create_every_table_and_are_idempotent(clickhouse):
    tables = set(
        clickhouse.client.query(
            "SELECT name FROM system.tables WHERE database = {db:String}",
            parameters={"db": clickhouse.database},
        ).result_columns[0]
    )
    assert tables >= SPEC_CLICKHOUSE_TABLES
    obs = set(
        clickhouse.client.query(
            "SELECT name FROM system.tables WHERE database = {db:String}",
            parameters={"db": clickhouse.obs_database},
        ).result_columns[0]
    )
    assert {"synthetic_probes", "synthetic_incidents", "connector_health"} <= obs
    report = migrate_clickhouse(clickhouse.client, clickhouse.database, clickhouse.obs_database)
    assert report.applied == ()


def test_clickhouse_sync_targets_collapse_versions_with_final(clickhouse):
    """analytics.md §3: a row re-synced with a higher _version replaces the old one under FINAL."""
    table = clickhouse.table("companies_ch")
    for version, name in ((1, "old"), (2, "new")):
        clickhouse.client.command(
            f"INSERT INTO {table} (id, name, industry, country, employee_size, created_at, _version) VALUES "
            f"('00000000-0000-0000-0000-0000000000aa', {{name:String}}, '', '', 'small', now64(6), {{v:UInt64}})",
            parameters={"name": name, "v": version},
        )
    rows = clickhouse.client.query(f"SELECT name FROM {table} FINAL").result_rows
    assert rows == [("new",)]


def test_split_statements_ignores_comments_and_blank_parts():
    sql = "-- header; with a semicolon\nCREATE TABLE a (x int);\n\nCREATE VIEW b AS SELECT 1;\n"
    assert split_statements(sql) == ["CREATE TABLE a (x int)", "CREATE VIEW b AS SELECT 1"]
