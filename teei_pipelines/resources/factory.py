"""Resources configured from the environment (spec README "Shared env vars").

Values that can carry credentials (DATABASE_URL, CLICKHOUSE_DSN, NATS_URL) are passed as EnvVar so the UI never
shows them; when a variable with a documented default is unset, the default is used.
"""

from __future__ import annotations

import os
from typing import Any

import dagster as dg

from teei_pipelines.resources.clickhouse import ClickHouseResource
from teei_pipelines.resources.nats import NatsResource
from teei_pipelines.resources.postgres import PostgresResource
from teei_pipelines.settings import DEFAULTS, env_identifier


def _env_or_default(name: str) -> Any:
    return dg.EnvVar(name) if os.environ.get(name) else DEFAULTS[name]


def build_resources() -> dict[str, Any]:
    return {
        "postgres": PostgresResource(dsn=dg.EnvVar("DATABASE_URL")),
        "clickhouse": ClickHouseResource(
            dsn=_env_or_default("CLICKHOUSE_DSN"),
            database=env_identifier("CLICKHOUSE_DB"),
            obs_database=env_identifier("CLICKHOUSE_OBS_DB"),
        ),
        "nats": NatsResource(url=_env_or_default("NATS_URL")),
    }
