"""NATS with JetStream: the stream TEEI_EVENTS, ensured idempotently, and deduplicated publishing
(events-webhooks.md §6)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlparse

import dagster as dg
import nats
from nats.aio.client import Client as NatsClient
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    DiscardPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
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
class StreamMessage:
    seq: int
    subject: str
    data: bytes


@dataclass(frozen=True)
class StreamRead:
    """What a sensor tick read: the messages after its cursor (in order), the stream's first sequence (a gap
    after the cursor means messages expired) and the newest sequence matching the filter."""

    messages: list[StreamMessage]
    first_seq: int
    last_seq: int


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

    def read_after(self, subject: str, after_seq: int, limit: int, wait_s: float = 2.0) -> StreamRead:
        """Up to `limit` messages matching `subject` with a stream sequence above `after_seq`, through an ephemeral
        ordered pull consumer without acks (events-webhooks.md §6). Nothing new costs one request, no waiting."""

        async def _read() -> StreamRead:
            async with self.jetstream() as (_, js):
                info = await js.stream_info(STREAM_NAME)
                try:
                    newest = (await js.get_last_msg(STREAM_NAME, subject)).seq
                except NotFoundError:
                    newest = 0
                if newest <= after_seq:
                    return StreamRead([], info.state.first_seq, newest)
                subscription = await js.pull_subscribe(
                    subject,
                    durable=None,
                    stream=STREAM_NAME,
                    config=ConsumerConfig(
                        deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                        opt_start_seq=max(after_seq + 1, info.state.first_seq, 1),
                        ack_policy=AckPolicy.NONE,
                        inactive_threshold=30.0,
                        mem_storage=True,
                        num_replicas=1,
                    ),
                )
                try:
                    fetched = await subscription.fetch(limit, timeout=wait_s)
                except NatsTimeoutError:
                    fetched = []
                finally:
                    # delete the ephemeral consumer now rather than after its inactivity threshold: ticks back to
                    # back would otherwise pile up consumers until the server's limit
                    consumer = (await subscription.consumer_info()).name
                    await subscription.unsubscribe()
                    with contextlib.suppress(NotFoundError):
                        await js.delete_consumer(STREAM_NAME, consumer)
                messages = [StreamMessage(m.metadata.sequence.stream, m.subject, m.data) for m in fetched]
                return StreamRead(messages, info.state.first_seq, newest)

        return run_sync(_read())

    def messages_by_seq(self, seqs: list[int]) -> list[StreamMessage]:
        """The stored messages with these stream sequences (a run re-reads what its sensor saw); expired ones are
        left out."""

        async def _get() -> list[StreamMessage]:
            async with self.jetstream() as (_, js):
                found = []
                for seq in seqs:
                    try:
                        message = await js.get_msg(STREAM_NAME, seq)
                    except NotFoundError:
                        continue
                    found.append(StreamMessage(message.seq, message.subject, message.data or b""))
                return found

        return run_sync(_get())
