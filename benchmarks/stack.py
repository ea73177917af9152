"""Throw-away working directories and an embedded PostgreSQL with the migrated schema, for one benchmark.

Everything a benchmark creates on disk is removed when it ends: a scale-100 run leaves gigabytes behind otherwise."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from teei_pipelines.devstack import ensure_database, start_postgres
from teei_pipelines.migrations import migrate_postgres
from teei_pipelines.resources.postgres import PostgresResource


@contextmanager
def bench_workdir(name: str) -> Iterator[Path]:
    workdir = Path(tempfile.mkdtemp(prefix=f"teei-bench-{name}-"))
    try:
        yield workdir
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@contextmanager
def bench_postgres(name: str) -> Iterator[tuple[Path, PostgresResource]]:
    with bench_workdir(name) as workdir:
        server = start_postgres(workdir / "pg")
        try:
            ensure_database(server.get_uri(), "bench")
            postgres = PostgresResource(dsn=server.get_uri("bench"))
            migrate_postgres(postgres.engine)
            yield workdir, postgres
        finally:
            server.cleanup()


def settle(postgres: PostgresResource, *tables: str) -> None:
    """VACUUM ANALYZE after a bulk load (every table when none is named): the first read of freshly loaded rows
    would otherwise set their hint bits, and autovacuum could start in the middle of a measurement. Runs before
    every side of a comparison alike."""
    with postgres.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text(f"VACUUM ANALYZE {', '.join(tables)}"))
