"""Resources configured from the environment (spec README "Shared env vars").

Values that can carry credentials (DATABASE_URL, CLICKHOUSE_DSN, NATS_URL) are passed as EnvVar so the UI never
shows them; when a variable with a documented default is unset, the default is used.
"""

from __future__ import annotations

import os
from typing import Any

import dagster as dg

from teei_pipelines.errors import ConfigError
from teei_pipelines.resources.clickhouse import ClickHouseResource
from teei_pipelines.resources.email import EmailResource
from teei_pipelines.resources.nats import NatsResource
from teei_pipelines.resources.postgres import PostgresResource
from teei_pipelines.settings import DEFAULTS, env, env_identifier, env_int


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
        "email": email_from_env(),
    }


def _secret(name: str) -> Any:
    """A credential: passed as EnvVar so the UI never shows it; empty when unset (the provider fails closed)."""
    return dg.EnvVar(name) if os.environ.get(name) else ""


def email_from_env() -> EmailResource:
    starttls = env("SMTP_STARTTLS", "false").strip().lower()
    if starttls not in {"true", "false", "1", "0", "yes", "no"}:
        raise ConfigError("SMTP_STARTTLS", f"{starttls!r} is not true or false")
    return EmailResource(
        provider=env("EMAIL_PROVIDER", "smtp"),
        sender=env("EMAIL_FROM", "TEEI Platform <noreply@teei-platform.com>"),
        smtp_host=env("SMTP_HOST", "127.0.0.1"),
        smtp_port=env_int("SMTP_PORT", 1025, minimum=1),
        smtp_username=env("SMTP_USERNAME", ""),
        smtp_password=_secret("SMTP_PASSWORD"),
        smtp_starttls=starttls in {"true", "1", "yes"},
        resend_api_key=_secret("RESEND_API_KEY"),
        resend_api_url=env("RESEND_API_URL", "https://api.resend.com"),
        sendgrid_api_key=_secret("SENDGRID_API_KEY"),
        sendgrid_api_url=env("SENDGRID_API_URL", "https://api.sendgrid.com"),
        outbox_dir=env("EMAIL_OUTBOX_DIR", ""),
        twilio_account_sid=env("TWILIO_ACCOUNT_SID", ""),
        twilio_auth_token=_secret("TWILIO_AUTH_TOKEN"),
        twilio_phone_number=env("TWILIO_PHONE_NUMBER", ""),
    )
