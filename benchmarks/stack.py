"""A throw-away embedded PostgreSQL with the migrated schema, for one benchmark."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from teei_pipelines.devstack import ensure_database, start_postgres
from teei_pipelines.migrations import migrate_postgres
from teei_pipelines.resources.postgres import PostgresResource


@contextmanager
def bench_postgres(name: str) -> Iterator[tuple[Path, PostgresResource]]:
    workdir = Path(tempfile.mkdtemp(prefix=f"teei-bench-{name}-"))
    server = start_postgres(workdir / "pg")
    try:
        ensure_database(server.get_uri(), "bench")
        postgres = PostgresResource(dsn=server.get_uri("bench"))
        migrate_postgres(postgres.engine)
        yield workdir, postgres
    finally:
        server.cleanup()
