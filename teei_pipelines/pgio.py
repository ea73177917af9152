"""PostgreSQL ⇄ polars without row loops: COPY in and out, and named SQL files from `sql/queries/`.

Query files take bound parameters, never formatted values: files run through SQLAlchemy bind `:name`; files
streamed with COPY (psycopg binds them client-side) bind `%(name)s`.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl
import psycopg
import sqlalchemy as sa

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
