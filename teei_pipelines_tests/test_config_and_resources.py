"""Bad configuration fails fast, naming the variable; the resources talk to the real services."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from teei_pipelines.domain.subjects import STREAM_NAME, STREAM_SUBJECTS
from teei_pipelines.errors import ConfigError, ServiceUnavailableError
from teei_pipelines.resources.clickhouse import ClickHouseResource, parse_clickhouse_dsn
from teei_pipelines.resources.nats import NatsResource, run_sync
from teei_pipelines.resources.postgres import PostgresResource
from teei_pipelines.settings import env_cron, env_identifier, env_int, partition_start, redact_dsn

from .conftest import run_cli


@pytest.mark.parametrize(
    ("dsn", "message"),
    [
        ("clickhouse://localhost:9000", "is not a ClickHouse DSN"),
        ("chdb://relative/path", "chdb:///absolute/path or chdb://memory"),
        ("http://:8123", "has no host"),
        ("https://user:secret@ch.example:notaport", "invalid port"),
    ],
)
def test_malformed_clickhouse_dsn_names_the_variable(dsn, message):
    with pytest.raises(ConfigError, match=message) as caught:
        parse_clickhouse_dsn(dsn)
    assert str(caught.value).startswith("CLICKHOUSE_DSN: ")
    assert "secret" not in str(caught.value)


@pytest.mark.parametrize(
    ("dsn", "kind", "path"),
    [
        ("chdb://memory", "chdb", None),
        ("chdb:///var/lib/chdb", "chdb", "/var/lib/chdb"),
        ("https://u:p@ch.internal:8443", "server", None),
    ],
)
def test_valid_clickhouse_dsns(dsn, kind, path):
    assert parse_clickhouse_dsn(dsn) == {"kind": kind, "path": path}


def test_cron_and_scalars_are_validated_with_the_variable_name(monkeypatch):
    monkeypatch.setenv("VIS_CRON_SCHEDULE", "61 2 * * *")
    with pytest.raises(ConfigError, match=r"^VIS_CRON_SCHEDULE: '61 2 \* \* \*' is not a valid cron"):
        env_cron("VIS_CRON_SCHEDULE", "0 2 * * *")
    monkeypatch.setenv("VIS_CRON_SCHEDULE", "@daily")
    with pytest.raises(ConfigError, match="5-field"):
        env_cron("VIS_CRON_SCHEDULE", "0 2 * * *")
    monkeypatch.delenv("VIS_CRON_SCHEDULE")
    assert env_cron("VIS_CRON_SCHEDULE", "0 2 * * *") == "0 2 * * *"
    monkeypatch.setenv("SYNC_INSERT_BLOCK_ROWS", "ten")
    with pytest.raises(ConfigError, match="^SYNC_INSERT_BLOCK_ROWS: 'ten' is not an integer"):
        env_int("SYNC_INSERT_BLOCK_ROWS", 10_000)
    monkeypatch.setenv("TEEI_PARTITION_START", "2025-13-01")
    with pytest.raises(ConfigError, match="^TEEI_PARTITION_START"):
        partition_start()
    monkeypatch.setenv("CLICKHOUSE_DB", "teei; DROP DATABASE x")
    with pytest.raises(ConfigError, match="^CLICKHOUSE_DB"):
        env_identifier("CLICKHOUSE_DB")


def test_malformed_postgres_dsn_names_the_variable():
    with pytest.raises(ConfigError, match="^DATABASE_URL: scheme 'mysql'"):
        PostgresResource(dsn="mysql://u:p@localhost/teei").ping()


def test_unreachable_postgres_fails_with_a_message_not_a_traceback(tmp_path):
    resource = PostgresResource(dsn=f"postgresql://postgres:pw@/teei?host={tmp_path}")
    with pytest.raises(ServiceUnavailableError, match="^DATABASE_URL: PostgreSQL at .* is unreachable") as caught:
        resource.ping()
    assert "pw" not in str(caught.value)


def test_cli_reports_bad_configuration_in_one_line(tmp_path):
    result = run_cli("migrate", env={"DATABASE_URL": f"postgresql://postgres@/teei?host={tmp_path}"})
    assert result.returncode == 2
    assert result.stderr.startswith("teei-pipelines migrate: DATABASE_URL: PostgreSQL at")
    assert "Traceback" not in result.stderr
    result = run_cli("migrate", "--clickhouse-only", env={"CLICKHOUSE_DSN": "ftp://nope"})
    assert result.returncode == 2
    assert "CLICKHOUSE_DSN: 'ftp://nope' is not a ClickHouse DSN" in result.stderr


def test_unreachable_nats_names_the_variable():
    with pytest.raises(ServiceUnavailableError, match="^NATS_URL: NATS at 'nats://127.0.0.1:1' is unreachable"):
        NatsResource(url="nats://127.0.0.1:1", connect_timeout_s=0.5).ping()
    with pytest.raises(ConfigError, match="^NATS_URL"):
        NatsResource(url="http://127.0.0.1:4222").ping()


def test_postgres_resource_runs_transactions(postgres):
    with postgres.begin() as connection:
        connection.execute(sa.text("INSERT INTO companies (name) VALUES ('Acme')"))
    with pytest.raises(RuntimeError), postgres.begin() as connection:
        connection.execute(sa.text("INSERT INTO companies (name) VALUES ('Rolled back')"))
        raise RuntimeError("abort")
    with postgres.connect() as connection:
        assert connection.execute(sa.text("SELECT array_agg(name) FROM companies")).scalar_one() == ["Acme"]


def test_stream_is_ensured_idempotently_with_the_spec_subjects(nats):
    nats.ensure_stream()
    nats.ensure_stream()

    async def info():
        async with nats.jetstream() as (_, js):
            return await js.stream_info(STREAM_NAME)

    stream = run_sync(info())
    assert sorted(stream.config.subjects) == sorted(STREAM_SUBJECTS)
    assert stream.config.duplicate_window == 600
    assert stream.config.max_age == 7 * 24 * 3600


def test_publish_is_deduplicated_by_msg_id(nats):
    payload = json.dumps({"type": "analytics.synced", "data": {}}).encode()
    first = nats.publish("analytics.synced", payload, msg_id="analytics.synced:test-dedup")
    second = nats.publish("analytics.synced", payload, msg_id="analytics.synced:test-dedup")
    assert not first.duplicate
    assert second.duplicate
    assert second.seq == first.seq


def test_clickhouse_resource_moves_arrow_both_ways(clickhouse):
    import polars as pl

    frame = pl.DataFrame(
        {
            "tenant_id": ["t1", "t2"],
            "job_id": ["a", "b"],
            "service": ["s", "s"],
            "region": ["eu", "us"],
            "instance_type": ["m", "m"],
            "runtime_seconds": [1.5, 2.5],
            "cost_usd": [0.1, 0.2],
            "timestamp": pl.Series(["2026-01-01T00:00:00Z"] * 2).str.to_datetime(time_unit="ms"),
        }
    )
    clickhouse.client.insert_arrow(clickhouse.table("compute_telemetry"), frame.to_arrow())
    back = pl.from_arrow(
        clickhouse.client.query_arrow(
            f"SELECT tenant_id, runtime_seconds FROM {clickhouse.table('compute_telemetry')} ORDER BY tenant_id"
        )
    )
    assert back.to_dicts() == [
        {"tenant_id": "t1", "runtime_seconds": 1.5},
        {"tenant_id": "t2", "runtime_seconds": 2.5},
    ]
    assert clickhouse.is_embedded


def test_embedded_arrow_inserts_match_columns_by_name_and_equal_clickhouse_connects(clickhouse):
    """ClickHouseResource.insert_arrow reads the Arrow table in place (chDB's Python() table function): columns are
    matched by name whatever their order, UUIDs arrive as UUIDs, and the stored rows equal those inserted by
    clickhouse-connect's own insert_arrow."""
    import polars as pl
    import pyarrow as pa

    from teei_pipelines.defs.analytics.sync_io import INSERT_SETTINGS, to_arrow
    from teei_pipelines.resources.clickhouse import without_views

    ids = pl.Series(["11111111-2222-3333-4444-555555555555", "00000000-0000-0000-0000-00000000000a"])
    frame = pl.DataFrame(
        {
            "_version": pl.Series([1, 2], dtype=pl.UInt64),
            "id": ids.str.replace_all("-", "").str.decode("hex"),
            "name": ["Acme", "Ümlaut & Co"],
            "industry": ["tech", ""],
            "country": ["DE", "FR"],
            "employee_size": ["51-200", "1-10"],
            "created_at": pl.Series(["2026-01-01T00:00:00.123456Z"] * 2).str.to_datetime(time_unit="us"),
        }
    )
    block = to_arrow(frame, ("id",))  # as the sync builds its blocks: string views, UUID extension
    assert block.schema.field("name").type == pa.string_view()
    table = clickhouse.table("companies_ch")
    select = f"SELECT id, name, industry, country, employee_size, created_at, _version FROM {table} ORDER BY id"
    clickhouse.insert_arrow(table, block, settings=INSERT_SETTINGS)
    ours = clickhouse.client.query(select).result_rows
    clickhouse.client.command(f"TRUNCATE TABLE {table}")
    clickhouse.client.insert_arrow(table, without_views(block), settings=INSERT_SETTINGS)
    assert ours == clickhouse.client.query(select).result_rows
    assert [str(row[0]) for row in ours] == sorted(ids.to_list())
    assert ours[0][1:4] == ("Ümlaut & Co", "", "FR")


def test_arrow_views_are_converted_for_a_clickhouse_server():
    import polars as pl
    import pyarrow as pa

    from teei_pipelines.resources.clickhouse import without_views

    viewed = pl.DataFrame({"s": ["a", None], "b": [b"\x00\x01", b""], "n": [1, 2]}).to_arrow(
        compat_level=pl.CompatLevel.newest()
    )
    assert {viewed.schema.field("s").type, viewed.schema.field("b").type} == {pa.string_view(), pa.binary_view()}
    plain = without_views(viewed)
    assert [field.type for field in plain.schema] == [pa.large_string(), pa.large_binary(), pa.int64()]
    assert plain.to_pylist() == viewed.to_pylist()


def test_redaction_hides_credentials():
    assert redact_dsn("https://user:secret@ch:8443/db") == "https://***@ch:8443/db"
    assert redact_dsn("chdb://memory") == "chdb://memory"


def test_clickhouse_server_dsn_that_is_unreachable_fails_clearly():
    resource = ClickHouseResource(dsn="http://default:pw@127.0.0.1:1")
    with pytest.raises(ServiceUnavailableError, match="^CLICKHOUSE_DSN: ") as caught:
        resource.ping()
    assert "pw@" not in str(caught.value)
