"""Environment configuration shared by every area (spec README "Shared env vars").

Each reader validates its variable and raises ConfigError naming it, so bad configuration fails at load with a
message, not later inside a library.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, date, datetime
from urllib.parse import urlparse

from cronsim import CronSim, CronSimError

from teei_pipelines.errors import ConfigError

DEFAULTS: dict[str, str] = {
    "DATABASE_URL": "",
    "CLICKHOUSE_DSN": "chdb://memory",
    "CLICKHOUSE_DB": "teei_analytics",
    "CLICKHOUSE_OBS_DB": "teei_observability",
    "NATS_URL": "nats://127.0.0.1:4222",
    "ALERT_EMAIL_TO": "alerts@teei.local",
    "TEEI_PARTITION_START": "2025-01-01",
}

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def env(name: str, default: str | None = None) -> str:
    """The variable's value, else the given default, else the documented default ('' when none)."""
    value = os.environ.get(name)
    if value is None or value == "":
        return default if default is not None else DEFAULTS.get(name, "")
    return value


def env_identifier(name: str) -> str:
    """A database name that is safe to splice into DDL (it is never a value)."""
    value = env(name)
    if not _IDENTIFIER.match(value):
        raise ConfigError(name, f"{value!r} is not a valid identifier (letters, digits, underscore)")
    return value


def env_cron(name: str, default: str) -> str:
    """A 5-field cron expression, validated at load time."""
    value = env(name, default).strip()
    if len(value.split()) != 5:
        raise ConfigError(name, f"{value!r} is not a 5-field cron expression")
    try:
        CronSim(value, datetime(2025, 1, 1, tzinfo=UTC))
    except CronSimError as exc:
        raise ConfigError(name, f"{value!r} is not a valid cron expression: {exc}") from exc
    return value


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = env(name, str(default))
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(name, f"{raw!r} is not an integer") from exc
    if minimum is not None and value < minimum:
        raise ConfigError(name, f"{value} is below the minimum {minimum}")
    return value


def partition_start() -> date:
    raw = env("TEEI_PARTITION_START")
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise ConfigError("TEEI_PARTITION_START", f"{raw!r} is not a YYYY-MM-DD date") from exc


def alert_recipients() -> list[str]:
    recipients = [part.strip() for part in env("ALERT_EMAIL_TO").split(",") if part.strip()]
    for address in recipients:
        if "@" not in address:
            raise ConfigError("ALERT_EMAIL_TO", f"{address!r} is not an e-mail address")
    return recipients


def validate_postgres_dsn(dsn: str, variable: str = "DATABASE_URL") -> str:
    """Normalise a PostgreSQL DSN to SQLAlchemy's psycopg 3 dialect."""
    if not dsn:
        raise ConfigError(variable, "is not set (e.g. postgresql://user:pass@host:5432/teei)")
    parsed = urlparse(dsn)
    scheme = parsed.scheme
    if scheme in {"postgres", "postgresql", "postgresql+psycopg", "postgresql+psycopg2"}:
        return "postgresql+psycopg://" + dsn.split("://", 1)[1]
    raise ConfigError(variable, f"scheme {scheme!r} is not postgresql:// (got {dsn.split('@')[-1]!r})")


def redact_dsn(dsn: str) -> str:
    """The DSN without its credentials, for messages and logs."""
    if "@" in dsn and "://" in dsn:
        scheme, rest = dsn.split("://", 1)
        return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
    return dsn
