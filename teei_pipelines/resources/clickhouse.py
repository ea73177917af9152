"""ClickHouse through clickhouse-connect: a server over http(s), or chDB in-process (analytics.md preamble).

chDB allows one database path per process, so clients are cached per DSN and shared by every caller.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import clickhouse_connect
import dagster as dg
from clickhouse_connect.driver.client import Client
from pydantic import Field

from teei_pipelines.errors import ConfigError, ServiceUnavailableError
from teei_pipelines.settings import redact_dsn

_CLIENTS: dict[str, Client] = {}
_CLIENTS_LOCK = threading.RLock()


def parse_clickhouse_dsn(dsn: str, variable: str = "CLICKHOUSE_DSN") -> dict[str, Any]:
    """Validate a DSN: `chdb:///abs/path`, `chdb://memory` or `http(s)://user:pass@host:port`."""
    parsed = urlparse(dsn)
    if parsed.scheme == "chdb":
        if parsed.netloc in {"memory", ":memory:"}:
            return {"kind": "chdb", "path": None}
        if parsed.netloc:
            raise ConfigError(variable, f"{dsn!r}: use chdb:///absolute/path or chdb://memory")
        if not parsed.path or not Path(parsed.path).is_absolute():
            raise ConfigError(variable, f"{dsn!r}: the chDB path must be absolute (chdb:///abs/path)")
        return {"kind": "chdb", "path": parsed.path}
    if parsed.scheme in {"http", "https"}:
        if not parsed.hostname:
            raise ConfigError(variable, f"{redact_dsn(dsn)!r} has no host")
        try:
            _ = parsed.port
        except ValueError as exc:
            raise ConfigError(variable, f"{redact_dsn(dsn)!r} has an invalid port") from exc
        return {"kind": "server", "path": None}
    raise ConfigError(
        variable,
        f"{redact_dsn(dsn)!r} is not a ClickHouse DSN (chdb:///abs/path, chdb://memory or http(s)://host:port)",
    )


def client_for(dsn: str) -> Client:
    parsed = parse_clickhouse_dsn(dsn)
    with _CLIENTS_LOCK:
        client = _CLIENTS.get(dsn)
        if client is not None:
            return client
        try:
            if parsed["kind"] == "chdb":
                if parsed["path"]:
                    Path(parsed["path"]).mkdir(parents=True, exist_ok=True)
                client = clickhouse_connect.get_client(dsn=dsn)
            else:
                client = clickhouse_connect.get_client(dsn=dsn, connect_timeout=5)
        except Exception as exc:
            raise ServiceUnavailableError(f"CLICKHOUSE_DSN: cannot open {redact_dsn(dsn)!r}: {exc}") from exc
        _CLIENTS[dsn] = client
        return client


class ClickHouseResource(dg.ConfigurableResource):
    """The analytics warehouse and the observability database."""

    dsn: str = Field(description="env CLICKHOUSE_DSN: chdb:///abs/path, chdb://memory or http(s)://user:pass@host:port")
    database: str = Field(default="teei_analytics", description="env CLICKHOUSE_DB")
    obs_database: str = Field(default="teei_observability", description="env CLICKHOUSE_OBS_DB")

    @property
    def client(self) -> Client:
        return client_for(self.dsn)

    @property
    def is_embedded(self) -> bool:
        return parse_clickhouse_dsn(self.dsn)["kind"] == "chdb"

    def table(self, name: str) -> str:
        return f"{self.database}.{name}"

    def obs_table(self, name: str) -> str:
        return f"{self.obs_database}.{name}"

    def ping(self) -> None:
        try:
            self.client.query("SELECT 1")
        except ServiceUnavailableError:
            raise
        except Exception as exc:
            raise ServiceUnavailableError(
                f"CLICKHOUSE_DSN: ClickHouse at {redact_dsn(self.dsn)!r} failed: {exc}"
            ) from exc
