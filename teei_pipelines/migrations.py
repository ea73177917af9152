"""Schema migrations: `sql/postgres/NNN_*.sql` and `sql/clickhouse/NNN_*.sql`, applied in order.

Each target keeps its own ledger (file name + SHA-256). Re-running is a no-op; a file that changed after it was
applied is refused with a clear error, because silently re-applying or skipping it would leave the schema unknown.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from clickhouse_connect.driver.client import Client

from teei_pipelines.errors import MigrationError

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
_MIGRATION_NAME = re.compile(r"^\d{3}_[a-z0-9_]+\.sql$")
# Serialises concurrent `migrate` calls on one PostgreSQL (an arbitrary, fixed advisory-lock key).
_PG_LOCK_KEY = 7_346_251_001


@dataclass(frozen=True)
class Migration:
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


@dataclass(frozen=True)
class MigrationReport:
    target: str
    applied: tuple[str, ...]
    already_applied: tuple[str, ...]


def load_migrations(target: str, sql_dir: Path = SQL_DIR) -> list[Migration]:
    folder = sql_dir / target
    files = sorted(folder.glob("*.sql"))
    for path in files:
        if not _MIGRATION_NAME.match(path.name):
            raise MigrationError(f"{path}: migration files are named NNN_lower_snake.sql")
    numbers = [path.name[:3] for path in files]
    if len(numbers) != len(set(numbers)):
        raise MigrationError(f"{folder}: two migration files share a number")
    return [Migration(path.name, path.read_text()) for path in files]


def _check_unchanged(target: str, migration: Migration, recorded: str) -> None:
    if recorded != migration.checksum:
        raise MigrationError(
            f"{target} migration {migration.name} was applied with checksum {recorded[:12]}… but the file now "
            f"has {migration.checksum[:12]}…. Applied migrations are immutable: revert the edit and add a new "
            f"numbered file instead."
        )


def migrate_postgres(engine: sa.Engine, sql_dir: Path = SQL_DIR) -> MigrationReport:
    migrations = load_migrations("postgres", sql_dir)
    applied: list[str] = []
    already: list[str] = []
    with engine.begin() as connection:
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        connection.execute(
            sa.text(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " filename text PRIMARY KEY, checksum char(64) NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
        )
        recorded = dict(connection.execute(sa.text("SELECT filename, checksum FROM schema_migrations")).all())
        for migration in migrations:
            if migration.name in recorded:
                _check_unchanged("postgres", migration, recorded[migration.name])
                already.append(migration.name)
                continue
            with connection.begin_nested():
                connection.exec_driver_sql(migration.sql)
                connection.execute(
                    sa.text("INSERT INTO schema_migrations (filename, checksum) VALUES (:name, :checksum)"),
                    {"name": migration.name, "checksum": migration.checksum},
                )
            applied.append(migration.name)
    return MigrationReport("postgres", tuple(applied), tuple(already))


def split_statements(sql: str) -> list[str]:
    """Split a DDL file on `;` at line ends; comments are dropped. Our DDL has no `;` inside literals."""
    body = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    return [statement.strip() for statement in re.split(r";\s*(?:\n|$)", body) if statement.strip()]


def migrate_clickhouse(client: Client, analytics_db: str, obs_db: str, sql_dir: Path = SQL_DIR) -> MigrationReport:
    migrations = load_migrations("clickhouse", sql_dir)
    ledger = f"{analytics_db}.schema_migrations"
    client.command(f"CREATE DATABASE IF NOT EXISTS {analytics_db}")
    client.command(
        f"CREATE TABLE IF NOT EXISTS {ledger} (filename String, checksum String, applied_at DateTime64(3, 'UTC'))"
        " ENGINE = ReplacingMergeTree(applied_at) ORDER BY filename"
    )
    recorded = dict(client.query(f"SELECT filename, checksum FROM {ledger} FINAL").result_rows)
    applied: list[str] = []
    already: list[str] = []
    for migration in migrations:
        if migration.name in recorded:
            _check_unchanged("clickhouse", migration, recorded[migration.name])
            already.append(migration.name)
            continue
        ddl = migration.sql.replace("{analytics_db}", analytics_db).replace("{obs_db}", obs_db)
        for statement in split_statements(ddl):
            client.command(statement)
        client.command(
            f"INSERT INTO {ledger} (filename, checksum, applied_at)"
            " VALUES ({name:String}, {checksum:String}, now64(3))",
            parameters={"name": migration.name, "checksum": migration.checksum},
        )
        applied.append(migration.name)
    return MigrationReport("clickhouse", tuple(applied), tuple(already))
