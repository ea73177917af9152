"""NATS with JetStream: the stream TEEI_EVENTS, ensured idempotently, and deduplicated publishing
(events-webhooks.md §6)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlparse

import dagster as dg
import nats
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError
from pydantic import Field

from teei_pipelines.domain.subjects import (
    STREAM_DUPLICATE_WINDOW_SECONDS,
    STREAM_MAX_AGE_SECONDS,
    STREAM_NAME,
    STREAM_SUBJECTS,
)
from teei_pipelines.errors import ConfigError, ServiceUnavailableError

T = TypeVar("T")


def validate_nats_url(url: str, variable: str = "NATS_URL") -> str:
    parsed = urlparse(url)
    if parsed.scheme not in {"nats", "tls"} or not parsed.hostname:
        raise ConfigError(variable, f"{url!r} is not a NATS URL (nats://host:4222)")
    return url


def stream_config() -> StreamConfig:
    return StreamConfig(
        name=STREAM_NAME,
        subjects=list(STREAM_SUBJECTS),
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        discard=DiscardPolicy.OLD,
        max_age=STREAM_MAX_AGE_SECONDS,
        duplicate_window=STREAM_DUPLICATE_WINDOW_SECONDS,
    )


async def ensure_stream(js: JetStreamContext) -> None:
    """Create the stream, or update it to the expected subjects and limits; safe to call any number of times."""
    config = stream_config()
    try:
        await js.stream_info(STREAM_NAME)
    except NotFoundError:
        await js.add_stream(config)
        return
    await js.update_stream(config)


@dataclass(frozen=True)
class PublishAck:
    seq: int
    duplicate: bool


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine from synchronous Dagster code (assets, sensors, CLI)."""
    return asyncio.run(coro)


async def _quiet(_: Exception) -> None:
    """Connection errors surface as ServiceUnavailableError; nats-py's own traceback logging is noise."""


class NatsResource(dg.ConfigurableResource):
    """The event bus. Every publish carries a deterministic Nats-Msg-Id so JetStream drops duplicates."""

    url: str = Field(default="nats://127.0.0.1:4222", description="env NATS_URL")
    connect_timeout_s: float = Field(default=3.0)

    @asynccontextmanager
    async def jetstream(self) -> AsyncIterator[tuple[NatsClient, JetStreamContext]]:
        validate_nats_url(self.url)
        try:
            client = await nats.connect(
                self.url,
                connect_timeout=self.connect_timeout_s,
                # nats-py treats 0 as "retry forever"; 1 means one retry, then NoServersError.
                max_reconnect_attempts=1,
                reconnect_time_wait=0.2,
                allow_reconnect=False,
                error_cb=_quiet,
            )
        except Exception as exc:
            raise ServiceUnavailableError(
                f"NATS_URL: NATS at {self.url!r} is unreachable: {exc or type(exc).__name__}"
            ) from None
        try:
            yield client, client.jetstream()
        finally:
            await client.drain()

    def ensure_stream(self) -> None:
        async def _ensure() -> None:
            async with self.jetstream() as (_, js):
                await ensure_stream(js)

        run_sync(_ensure())

    def publish(self, subject: str, payload: bytes, msg_id: str) -> PublishAck:
        async def _publish() -> PublishAck:
            async with self.jetstream() as (_, js):
                ack = await js.publish(subject, payload, headers={"Nats-Msg-Id": msg_id})
                return PublishAck(seq=ack.seq, duplicate=bool(ack.duplicate))

        return run_sync(_publish())

    def ping(self) -> None:
        async def _ping() -> None:
            async with self.jetstream() as (_, js):
                await js.account_info()

        run_sync(_ping())
