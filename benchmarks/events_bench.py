"""Events benchmarks (issue: Webhooks and NATS events).

1. Signed Kintell session-completed webhooks at a fixed 500 requests/s for 30 s (open loop: latency is measured
   from each request's scheduled send time, so a stall shows up) against the real receiver (uvicorn, one process,
   embedded PostgreSQL, the background relay to nats-server running), next to a bare uvicorn route that only reads
   the body and answers 202, on the same machine, same flags. Loss = requests sent − rows in webhook_inbox.
2. 100,000 JetStream messages drained by a NATS sensor (`nats_user_profile_updated_sensor`, batch
   NATS_SENSOR_BATCH_SIZE = 100): ticks needed, longest tick (must stay < 30 s), and events → run-request latency
   with a publisher at 200 messages/s while the sensor ticks back to back.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from benchmarks.stack import bench_postgres, bench_workdir
from benchmarks.vis_bench import Row
from teei_pipelines.devstack import free_port, start_nats, stop_process, wait_for_port
from teei_pipelines.domain.events import envelope
from teei_pipelines.resources.nats import NatsResource, run_sync

SECRET = "bench-kintell-secret"
REPO = Path(__file__).resolve().parent.parent
ROUTE = "/v1/webhooks/session-completed"


def signed_requests(n: int) -> list[tuple[bytes, dict[str, str]]]:
    requests = []
    for index in range(n):
        body = json.dumps(
            {
                "session_id": f"bench-{index}",
                "session_type": "language",
                "participant_email": f"p{index}@bench.local",
                "volunteer_email": "v@bench.local",
                "scheduled_at": "2026-03-10T09:00:00Z",
                "completed_at": "2026-03-10T10:00:00Z",
                "duration_minutes": 60,
            }
        ).encode()
        stamp = str(int(time.time()))
        signature = hmac.new(SECRET.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        headers = {
            "X-Kintell-Signature": f"t={stamp},v1={signature}",
            "X-Delivery-Id": f"bench-{uuid.uuid4()}",
            "Content-Type": "application/json",
        }
        requests.append((body, headers))
    return requests


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes, body: bytes) -> int:
    """One HTTP/1.1 request on a kept-alive connection; returns the status code."""
    writer.write(head + body)
    await writer.drain()
    status_line = await reader.readline()
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    await reader.readexactly(length)
    return int(status_line.split()[1])


async def open_loop(
    host: str, port: int, path: str, requests: list[tuple[bytes, dict[str, str]]], rate: float, connections: int = 64
) -> tuple[list[float], int]:
    """Send request i at t0 + i/rate whatever happened before (open loop) over `connections` kept-alive
    connections; latency runs from the scheduled time, so queueing behind a slow server counts. A minimal asyncio
    HTTP/1.1 client: httpx's pool itself saturates a core at this rate on this machine, which would measure the
    client, not the server. Returns latencies (ms) and the non-2xx count."""
    queue: asyncio.Queue = asyncio.Queue()
    latencies: list[float] = []
    errors = 0

    async def worker() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(host, port)
        while (item := await queue.get()) is not None:
            scheduled, body, headers = item
            head = f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Length: {len(body)}\r\n"
            head += "".join(f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n"
            try:
                status = await _exchange(reader, writer, head.encode(), body)
            except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
                status = 599
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
            if status >= 300:
                errors += 1
            latencies.append((time.perf_counter() - scheduled) * 1000)
        writer.close()

    workers = [asyncio.create_task(worker()) for _ in range(connections)]
    await asyncio.sleep(0.5)  # connections open before the clock starts
    start = time.perf_counter()
    for index, (body, headers) in enumerate(requests):
        scheduled = start + index / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait((scheduled, body, headers))
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    return latencies, errors


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def serve(module_app: list[str], port: int, env: dict[str, str]) -> subprocess.Popen:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            *module_app,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # stop_process signals its whole group
    )
    wait_for_port(port, 60, process=process, name="uvicorn")
    return process


def webhook_load(rate: float, seconds: float) -> tuple[list[Row], dict]:
    n = int(rate * seconds)
    scratch = ExitStack()
    workdir = scratch.enter_context(bench_workdir("events"))
    nats_port = free_port()
    nats_server = start_nats(workdir / "nats", nats_port, workdir / "nats.log")
    try:
        with bench_postgres("webhooks") as (_, postgres):
            NatsResource(url=f"nats://127.0.0.1:{nats_port}").ensure_stream()
            env = {
                **os.environ,
                "DATABASE_URL": postgres.dsn,
                "NATS_URL": f"nats://127.0.0.1:{nats_port}",
                "KINTELL_WEBHOOK_SECRET": SECRET,
            }
            bare_port, receiver_port = free_port(), free_port()
            bare = serve(["benchmarks.bare_app:app"], bare_port, env)
            try:
                bare_latencies, bare_errors = asyncio.run(
                    open_loop("127.0.0.1", bare_port, ROUTE, signed_requests(n), rate)
                )
            finally:
                stop_process(bare, "bare uvicorn")
            receiver = serve(["teei_pipelines.webhooks.app:create_app", "--factory"], receiver_port, env)
            try:
                latencies, errors = asyncio.run(open_loop("127.0.0.1", receiver_port, ROUTE, signed_requests(n), rate))
                deadline = time.monotonic() + 60
                published = 0
                while time.monotonic() < deadline and published < n:
                    with postgres.connect() as connection:
                        stored, published = connection.execute(
                            sa.text("SELECT count(*), count(*) FILTER (WHERE status = 'published') FROM webhook_inbox")
                        ).one()
                    time.sleep(0.5)
            finally:
                stop_process(receiver, "receiver")
    finally:
        stop_process(nats_server, "nats-server")
        scratch.close()
    info = {
        "requests": n,
        "errors": errors,
        "stored": stored,
        "published": published,
        "lost": n - stored,
        "p50": percentile(latencies, 0.5),
        "p99": percentile(latencies, 0.99),
        "bare_p50": percentile(bare_latencies, 0.5),
        "bare_p99": percentile(bare_latencies, 0.99),
        "bare_errors": bare_errors,
    }
    rows = [
        Row(
            f"webhook p50 latency, signed Kintell at {rate:g} req/s × {seconds:g} s",
            info["p50"],
            "bare uvicorn route (read body, 202)",
            info["bare_p50"],
            "stored once, 0 lost",
            unit="ms",
        ),
        Row(
            f"webhook p99 latency, signed Kintell at {rate:g} req/s × {seconds:g} s",
            info["p99"],
            "bare uvicorn route (read body, 202)",
            info["bare_p99"],
            "stored once, 0 lost",
            unit="ms",
        ),
    ]
    return rows, info


def sensor_drain(n: int, steady_rate: float = 200, steady_seconds: float = 10) -> tuple[list[Row], dict]:
    from teei_pipelines.defs.events.nats_sensors import SUBSCRIPTIONS

    sensor = next(s for s in SUBSCRIPTIONS if s.name == "nats_user_profile_updated_sensor")
    scratch = ExitStack()
    workdir = scratch.enter_context(bench_workdir("sensor"))
    port = free_port()
    nats_server = start_nats(workdir / "nats", port, workdir / "nats.log")
    nats = NatsResource(url=f"nats://127.0.0.1:{port}")
    instance = dg.DagsterInstance.ephemeral()
    try:
        nats.ensure_stream()

        async def publish_all() -> None:
            async with nats.jetstream() as (_, js):
                now = datetime.now(UTC)
                pending = []
                for index in range(n):
                    data = {"userId": str(uuid.uuid4()), "n": index}
                    raw = json.dumps(envelope("user.profile.updated", data, f"bench:{index}", "bench", now)).encode()
                    pending.append(js.publish("user.profile.updated", raw))
                    if len(pending) == 1000:
                        await asyncio.gather(*pending)
                        pending = []
                await asyncio.gather(*pending)

        started = time.perf_counter()
        run_sync(publish_all())
        publish_s = time.perf_counter() - started

        def tick(cursor: str | None):
            context = dg.build_sensor_context(cursor=cursor, resources={"nats": nats}, instance=instance)
            began = time.perf_counter()
            result = sensor(context)
            return result, time.perf_counter() - began

        cursor, ticks, durations, requested = None, 0, [], 0
        drain_started = time.perf_counter()
        while True:
            result, seconds = tick(cursor)
            if isinstance(result, dg.SkipReason):
                break
            ticks += 1
            durations.append(seconds)
            requested += len(result.run_requests[0].run_config["ops"]["process_events"]["config"]["stream_sequences"])
            cursor = result.cursor
        drain_s = time.perf_counter() - drain_started

        # steady state: a publisher at `steady_rate` while the sensor ticks back to back
        published_at: dict[int, float] = {}
        stop = threading.Event()

        def publisher() -> None:
            async def go() -> None:
                async with nats.jetstream() as (_, js):
                    for index in range(int(steady_rate * steady_seconds)):
                        target = begin + index / steady_rate
                        await asyncio.sleep(max(0.0, target - time.perf_counter()))
                        raw = json.dumps(
                            envelope(
                                "user.profile.updated",
                                {"userId": str(uuid.uuid4())},
                                f"s:{index}",
                                "b",
                                datetime.now(UTC),
                            )
                        ).encode()
                        ack = await js.publish("user.profile.updated", raw)
                        published_at[ack.seq] = time.perf_counter()
                stop.set()

            asyncio.run(go())

        begin = time.perf_counter()
        thread = threading.Thread(target=publisher)
        thread.start()
        latencies = []
        while not (stop.is_set() and len(latencies) >= len(published_at)):
            result, _ = tick(cursor)
            if isinstance(result, dg.SkipReason):
                time.sleep(0.01)
                continue
            done = time.perf_counter()
            seqs = result.run_requests[0].run_config["ops"]["process_events"]["config"]["stream_sequences"]
            latencies += [(done - published_at.get(seq, done)) * 1000 for seq in seqs]
            cursor = result.cursor
        thread.join()
    finally:
        stop_process(nats_server, "nats-server")
        scratch.close()
    assert requested == n, (requested, n)
    info = {
        "messages": n,
        "publish_s": publish_s,
        "ticks": ticks,
        "drain_s": drain_s,
        "longest_tick_s": max(durations),
        "mean_tick_s": statistics.mean(durations),
        "latency_p50_ms": percentile(latencies, 0.5),
        "latency_p99_ms": percentile(latencies, 0.99),
    }
    rows = [
        Row(
            f"NATS sensor: longest tick draining {n:,} messages ({ticks} ticks of ≤ 100)",
            info["longest_tick_s"],
            "the 30 s tick budget",
            30.0,
            "< 30 s",
        ),
        Row(
            f"NATS sensor: event → run request p99 at {steady_rate:g} msg/s, ticks back to back",
            info["latency_p99_ms"],
            "the default 30 s sensor interval",
            30_000.0,
            "report",
            unit="ms",
        ),
    ]
    return rows, info


def run(rate: float = 500, seconds: float = 30, messages: int = 100_000) -> tuple[list[Row], dict]:
    webhook_rows, webhook = webhook_load(rate, seconds)
    sensor_rows, sensor = sensor_drain(messages)
    return webhook_rows + sensor_rows, {"webhook": webhook, "sensor": sensor}
