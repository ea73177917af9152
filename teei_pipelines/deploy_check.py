"""Imported by the image build (deploy/Dockerfile): the code location loads with production-shaped settings, so
an image that cannot serve its definitions never ships. The settings below only satisfy validation at
load time (loopback addresses); nothing is contacted."""

from __future__ import annotations

import os

BUILD_SETTINGS = {
    "DATABASE_URL": "postgresql://build@127.0.0.1:5432/build",
    "CLICKHOUSE_DSN": "http://build:build@127.0.0.1:8123",
    "NATS_URL": "nats://127.0.0.1:4222",
}
for name, value in BUILD_SETTINGS.items():
    os.environ.setdefault(name, value)

from teei_pipelines.definitions import defs  # noqa: E402  (the environment must be set first)

JOBS = sorted(job.name for job in defs.resolve_all_job_defs())
