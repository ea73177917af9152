"""Typed Dagster resources, swapped by configuration (DSNs from the environment), never by mocks."""

from teei_pipelines.resources.clickhouse import ClickHouseResource
from teei_pipelines.resources.nats import NatsResource
from teei_pipelines.resources.postgres import PostgresResource

__all__ = ["ClickHouseResource", "NatsResource", "PostgresResource"]
