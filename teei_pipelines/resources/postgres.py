"""PostgreSQL through SQLAlchemy 2 + psycopg 3, one pooled engine per DSN per process."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import sqlalchemy as sa
from pydantic import Field

from teei_pipelines.errors import ServiceUnavailableError
from teei_pipelines.settings import redact_dsn, validate_postgres_dsn

_ENGINES: dict[str, sa.Engine] = {}
_ENGINES_LOCK = threading.Lock()


def engine_for(dsn: str, variable: str = "DATABASE_URL") -> sa.Engine:
    """A cached engine for the DSN. Raises ConfigError naming the variable for a malformed DSN."""
    url = validate_postgres_dsn(dsn, variable)
    with _ENGINES_LOCK:
        engine = _ENGINES.get(url)
        if engine is None:
            engine = sa.create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)
            _ENGINES[url] = engine
        return engine


def dispose_engines() -> None:
    with _ENGINES_LOCK:
        for engine in _ENGINES.values():
            engine.dispose()
        _ENGINES.clear()


class PostgresResource(dg.ConfigurableResource):
    """TEEI's PostgreSQL: the source tables and the pipeline-owned tables."""

    dsn: str = Field(description="PostgreSQL DSN (env DATABASE_URL), e.g. postgresql://user:pass@host:5432/teei")

    @property
    def engine(self) -> sa.Engine:
        return engine_for(self.dsn)

    @contextmanager
    def begin(self) -> Iterator[sa.Connection]:
        """One transaction: commits on success, rolls back on error."""
        with self.unreachable_as_error(), self.engine.begin() as connection:
            yield connection

    @contextmanager
    def connect(self) -> Iterator[sa.Connection]:
        with self.unreachable_as_error(), self.engine.connect() as connection:
            yield connection

    @contextmanager
    def unreachable_as_error(self) -> Iterator[None]:
        """A lost or refused connection (an OperationalError without SQLSTATE: the server never answered) becomes
        ServiceUnavailableError naming DATABASE_URL, so a failed run says what is wrong; SQL errors pass as they are."""
        try:
            yield
        except sa.exc.OperationalError as exc:
            if getattr(exc.orig, "sqlstate", None) is not None:
                raise
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise ServiceUnavailableError(
                f"DATABASE_URL: PostgreSQL at {redact_dsn(self.dsn)} is unreachable: {reason}"
            ) from None

    def ping(self) -> None:
        """Fail fast, with a message naming the variable, when the server is unreachable."""
        with self.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
