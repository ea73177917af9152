"""PostgreSQL ⇄ polars without row loops: COPY in and out, and named SQL files from `sql/queries/`.

Query files take bound parameters, never formatted values: files run through SQLAlchemy bind `:name`; files
streamed with COPY (psycopg binds them client-side) bind `%(name)s`.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl
import psycopg
import pyarrow as pa
import sqlalchemy as sa
from psycopg import sql as psql

QUERIES_DIR = Path(__file__).resolve().parent.parent / "sql" / "queries"


@cache
def query(name: str) -> str:
    """The text of `sql/queries/<name>.sql`."""
    return (QUERIES_DIR / f"{name}.sql").read_text()


def statements(name: str) -> list[sa.TextClause]:
    """A query file holding several `;`-separated statements, as SQLAlchemy text clauses."""
    return [sa.text(part) for part in query(name).split(";\n") if part.strip() and not _only_comments(part)]


def _only_comments(sql: str) -> bool:
    return all(not line.strip() or line.strip().startswith("--") for line in sql.splitlines())


def sql_body(name: str) -> str:
    """A query file without comments or the trailing `;`, ready to wrap in COPY ( … )."""
    body = "\n".join(line for line in query(name).splitlines() if not line.lstrip().startswith("--"))
    return body.strip().rstrip(";")


def literal_sql(name: str, **params: Any) -> str:
    """A query file whose brace-delimited markers (e.g. `{range_start}`) are bound as quoted SQL literals by
    psycopg's quoting, for statements that take no bind parameters: ADBC streams a parameterless query through
    binary COPY, but materialises a parameterised one whole in libpq before the first Arrow batch."""
    return (
        psql.SQL(sql_body(name)).format(**{key: psql.Literal(value) for key, value in params.items()}).as_string(None)
    )


def driver_cursor(connection: sa.Connection) -> psycopg.Cursor:
    """The psycopg cursor under a SQLAlchemy connection, sharing its transaction."""
    return connection.connection.driver_connection.cursor()


def copy_in(connection: sa.Connection, table: str, frame: pl.DataFrame) -> None:
    """COPY a frame into `table` (its columns by name) inside the connection's transaction."""
    columns = ", ".join(f'"{name}"' for name in frame.columns)
    buffer = io.BytesIO()
    frame.write_csv(buffer, include_header=False, null_value="\\N", datetime_format="%Y-%m-%dT%H:%M:%S%.6f%z")
    with (
        driver_cursor(connection) as cursor,
        cursor.copy(f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv, NULL '\\N')") as copy,
    ):
        copy.write(buffer.getvalue())


def copy_out(
    connection: sa.Connection, name: str, params: dict[str, Any], schema: dict[str, pl.DataType]
) -> pl.DataFrame:
    """Stream `sql/queries/<name>.sql` out with COPY … TO STDOUT (CSV) into a frame with the given schema."""
    buffer = bytearray()
    statement = f"COPY ({sql_body(name)}) TO STDOUT WITH (FORMAT csv, HEADER true)"
    with driver_cursor(connection) as cursor, cursor.copy(statement, params) as copy:
        for chunk in copy:
            buffer += chunk
    if not buffer:
        return pl.DataFrame(schema=schema)
    return pl.read_csv(io.BytesIO(bytes(buffer)), schema=schema)


# Arrow reads through ADBC ------------------------------------------------------------------------------------------

_ARROW_IDLE: dict[str, list[Any]] = {}
_ARROW_LOCK = threading.Lock()
ARROW_IDLE_PER_DSN = 4


def libpq_uri(engine: sa.Engine) -> str:
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def arrow_connection(engine: sa.Engine) -> Iterator[Any]:
    """An autocommit ADBC connection (PostgreSQL binary COPY decoded into Arrow), from a small idle pool.

    Opening one costs ~70 ms (the driver loads the type catalog), which would dominate a 15-minute window's sync.
    A connection that raised is closed, not returned, so no half-finished transaction is ever reused.
    """
    from adbc_driver_postgresql import dbapi as adbc

    uri = libpq_uri(engine)
    with _ARROW_LOCK:
        idle = _ARROW_IDLE.setdefault(uri, [])
        connection = idle.pop() if idle else None
    if connection is None:
        connection = adbc.connect(uri, autocommit=True)
    try:
        yield connection
    except BaseException:
        connection.close()
        raise
    with _ARROW_LOCK:
        idle = _ARROW_IDLE.setdefault(uri, [])
        if len(idle) < ARROW_IDLE_PER_DSN:
            idle.append(connection)
            return
    connection.close()


def close_arrow_connections() -> None:
    with _ARROW_LOCK:
        for idle in _ARROW_IDLE.values():
            for connection in idle:
                connection.close()
        _ARROW_IDLE.clear()


def plain_arrow(table: pa.Table) -> pa.Table:
    """ADBC's extension columns (uuid, PostgreSQL numeric, json) as their storage: Binary and text for polars."""
    for index, column in enumerate(table.columns):
        if isinstance(column.type, pa.BaseExtensionType):
            storage = pa.chunked_array([chunk.storage for chunk in column.chunks], type=column.type.storage_type)
            table = table.set_column(index, table.field(index).name, storage)
    return table


def read_frame(engine: sa.Engine, name: str, **params: Any) -> pl.DataFrame:
    """A query file (its brace-delimited markers bound as literals by `literal_sql`) as a polars frame, through
    ADBC's binary COPY: no Python object per row. numeric columns arrive as exact decimal text."""
    with arrow_connection(engine) as connection, connection.cursor() as cursor:
        cursor.execute(literal_sql(name, **params))
        frame = pl.from_arrow(plain_arrow(cursor.fetch_arrow_table()))
    assert isinstance(frame, pl.DataFrame)
    return frame
