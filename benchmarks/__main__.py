"""`make bench`: run every benchmark, print a table (metric, baseline, ratio, target), write benchmarks/RESULTS.md.

Sizes are the issues' defaults; BENCH_EVENTS, BENCH_USERS, BENCH_SCALE, BENCH_CAMPAIGNS, BENCH_EMAILS and
BENCH_TEXTS shrink them for a quick look.
"""

from __future__ import annotations

import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import analytics_bench, campaigns_bench, events_bench, notifications_bench, q2q_bench, vis_bench


def _fmt(value: float, unit: str) -> str:
    return f"{value:,.1f} {unit}" if unit == "MiB" else f"{value:,.3f} {unit}"


def main() -> int:
    n_events = int(os.environ.get("BENCH_EVENTS", 20_000_000))
    n_users = int(os.environ.get("BENCH_USERS", 1_000_000))
    scale = float(os.environ.get("BENCH_SCALE", 100))
    rows = vis_bench.in_memory(n_events, n_users)
    e2e_rows, info = vis_bench.end_to_end(scale)
    rows += e2e_rows
    rows += campaigns_bench.run(int(os.environ.get("BENCH_CAMPAIGNS", 10_000)))
    analytics_rows, sync = analytics_bench.run(scale)
    rows += analytics_rows
    email_rows, mail = notifications_bench.run(int(os.environ.get("BENCH_EMAILS", 10_000)))
    rows += email_rows
    rows += q2q_bench.run(int(os.environ.get("BENCH_TEXTS", 100_000)))
    event_rows, events = events_bench.run(
        float(os.environ.get("BENCH_WEBHOOK_RATE", 500)),
        float(os.environ.get("BENCH_WEBHOOK_SECONDS", 30)),
        int(os.environ.get("BENCH_MESSAGES", 100_000)),
    )
    rows += event_rows

    header = "| metric | value | baseline | baseline value | ratio (baseline / value) | target |"
    lines = [header, "|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(
            f"| {row.metric} | {_fmt(row.value, row.unit)} | {row.baseline_name} | {_fmt(row.baseline, row.unit)} "
            f"| {row.ratio:,.2f}× | {row.target} |"
        )
    notes = [
        f"Seed at scale {scale:g}: {info['seed_rows']:,} PostgreSQL rows generated in {info['seed_generate_s']:.1f} s "
        f"and loaded with COPY in {info['seed_load_s']:.1f} s ({info['seed_rows_per_s']:,.0f} rows/s); "
        f"{info['events']:,} Buddy events.",
        f"Wall time of the Dagster runs: full {info['full_wall_s']:.2f} s; incremental "
        f"{info['incremental_wall_with_check_s']:.2f} s including the blocking `vis_incremental_equals_full` check, "
        "which recomputes the day in full by design (vis.md §6).",
        f"Analytics initial load of {sync['rows']:,} outcome_scores: pipeline "
        f"{sync['pipeline_rows_per_s']:,.0f} rows/s "
        f"({sync['arrow_batches']} Arrow batches from two COPY streams), "
        f"PostgreSQL COPY binary {sync['copy_rows_per_s']:,.0f} rows/s, "
        f"ClickHouse postgresql() pull {sync['peer_rows_per_s']:,.0f} rows/s.",
        f"E-mail: worker {mail['worker_per_s']:,.0f} e-mails/s, plain smtplib loop {mail['loop_per_s']:,.0f} e-mails/s "
        "(the local aiosmtpd process is the bottleneck for both).",
        f"Webhooks: {events['webhook']['requests']:,} signed requests, {events['webhook']['errors']} errors, "
        f"{events['webhook']['stored']:,} stored, {events['webhook']['published']:,} relayed to JetStream, "
        f"{events['webhook']['lost']} lost.",
        f"NATS sensor: {events['sensor']['messages']:,} messages published in {events['sensor']['publish_s']:.1f} s, "
        f"drained in {events['sensor']['ticks']} ticks ({events['sensor']['drain_s']:.1f} s; mean tick "
        f"{events['sensor']['mean_tick_s'] * 1000:.0f} ms, "
        f"longest {events['sensor']['longest_tick_s'] * 1000:.0f} ms); "
        f"event → run request p50 {events['sensor']['latency_p50_ms']:.0f} ms with ticks back to back (the deployed "
        "sensor adds up to NATS_SENSOR_INTERVAL_S).",
    ]
    table = "\n".join(lines)
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    document = "\n".join(
        [
            "# Benchmark results",
            "",
            f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine}; every baseline in the same run.",
            "",
            table,
            "",
            *[f"- {note}" for note in notes],
            "",
        ]
    )
    Path(__file__).with_name("RESULTS.md").write_text(document)
    print(table)
    print("\n".join(notes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
