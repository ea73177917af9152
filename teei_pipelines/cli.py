"""`teei-pipelines`: migrate, seed, dev, reset, webhooks."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from teei_pipelines.errors import ConfigError, MigrationError, ServiceUnavailableError


def _engine():
    from teei_pipelines.resources.postgres import PostgresResource
    from teei_pipelines.settings import env

    postgres = PostgresResource(dsn=env("DATABASE_URL"))
    postgres.ping()
    return postgres.engine


def _clickhouse():
    from teei_pipelines.resources.clickhouse import ClickHouseResource
    from teei_pipelines.settings import env, env_identifier

    clickhouse = ClickHouseResource(
        dsn=env("CLICKHOUSE_DSN"),
        database=env_identifier("CLICKHOUSE_DB"),
        obs_database=env_identifier("CLICKHOUSE_OBS_DB"),
    )
    clickhouse.ping()
    return clickhouse


def cmd_migrate(args: argparse.Namespace) -> int:
    from teei_pipelines.migrations import migrate_clickhouse, migrate_postgres

    reports = []
    if not args.clickhouse_only:
        reports.append(migrate_postgres(_engine()))
    if not args.postgres_only:
        clickhouse = _clickhouse()
        reports.append(migrate_clickhouse(clickhouse.client, clickhouse.database, clickhouse.obs_database))
    for report in reports:
        print(
            f"{report.target}: applied {len(report.applied)} ({', '.join(report.applied) or 'none'}), "
            f"{len(report.already_applied)} already applied"
        )
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    from teei_pipelines import seed

    engine = _engine()
    if args.if_empty and seed.is_seeded(engine):
        print("seed: database already holds data; skipped")
        return 0
    data = seed.generate(args.scale, args.seed, seed.anchor_from(args.anchor))
    pg_report = seed.load_postgres(engine, data)
    print(
        f"seed: PostgreSQL {pg_report.rows:,} rows in {pg_report.seconds:.2f} s "
        f"({pg_report.rows_per_second:,.0f} rows/s)"
    )
    if not args.skip_clickhouse:
        clickhouse = _clickhouse()
        ch_report = seed.load_clickhouse(clickhouse.client, clickhouse.database, data)
        print(
            f"seed: ClickHouse {ch_report.rows:,} rows in {ch_report.seconds:.2f} s "
            f"({ch_report.rows_per_second:,.0f} rows/s)"
        )
    return 0


def cmd_dev(args: argparse.Namespace) -> int:
    from teei_pipelines.devstack import run_dev

    return run_dev(
        Path(args.root),
        headless=args.headless,
        webserver_port=args.port,
        receiver_port=args.receiver_port,
        run_main_job=not args.no_main_job,
    )


def cmd_reset(args: argparse.Namespace) -> int:
    from teei_pipelines.devstack import reset

    reset(Path(args.root))
    print(f"removed {Path(args.root).resolve()}")
    return 0


def cmd_webhooks(args: argparse.Namespace) -> int:
    import uvicorn

    from teei_pipelines.settings import env, env_int

    host = args.host or env("WEBHOOK_RECEIVER_HOST", "127.0.0.1")
    port = args.port or env_int("WEBHOOK_RECEIVER_PORT", 8090, minimum=1)
    uvicorn.run("teei_pipelines.webhooks.app:create_app", factory=True, host=host, port=port, log_level="info")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="teei-pipelines", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    migrate = sub.add_parser("migrate", help="apply sql/postgres and sql/clickhouse migrations in order")
    only = migrate.add_mutually_exclusive_group()
    only.add_argument("--postgres-only", action="store_true")
    only.add_argument("--clickhouse-only", action="store_true")
    migrate.set_defaults(func=cmd_migrate)

    seed = sub.add_parser("seed", help="load deterministic demo/benchmark data (COPY)")
    seed.add_argument("--scale", type=float, default=1.0, help="1 = demo (~20k Buddy events); 100 = benchmark")
    seed.add_argument("--seed", type=int, default=42)
    seed.add_argument("--anchor", help="YYYY-MM-DD the data ends at (default: today, UTC)")
    seed.add_argument("--if-empty", action="store_true", help="do nothing when the database already holds data")
    seed.add_argument("--skip-clickhouse", action="store_true", help="PostgreSQL only (no telemetry)")
    seed.set_defaults(func=cmd_seed)

    dev = sub.add_parser("dev", help="start the embedded stack, the webhook receiver and dagster dev")
    dev.add_argument("--root", default=".teei")
    dev.add_argument("--headless", action="store_true", help="no webserver: the Dagster daemon only")
    dev.add_argument("--port", type=int, default=3000, help="Dagster webserver port")
    dev.add_argument("--no-main-job", action="store_true", help="do not submit vis_daily_job for yesterday")
    dev.add_argument("--receiver-port", type=int, help="webhook receiver port (default WEBHOOK_RECEIVER_PORT, 8090)")
    dev.set_defaults(func=cmd_dev)

    reset = sub.add_parser("reset", help="wipe the embedded stack's data (.teei/)")
    reset.add_argument("--root", default=".teei")
    reset.set_defaults(func=cmd_reset)

    webhooks = sub.add_parser("webhooks", help="run the webhook receiver (uvicorn)")
    webhooks.add_argument("--host")
    webhooks.add_argument("--port", type=int)
    webhooks.set_defaults(func=cmd_webhooks)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ConfigError, ServiceUnavailableError, MigrationError) as exc:
        print(f"teei-pipelines {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
