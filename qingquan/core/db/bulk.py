"""Writing many rows at once: the one bulk path of the city generator, the CSV import,
the nightly rollup rewrite and the benchmarks' data.

Rows are written as they are given (values already prepared for the database: on SQLite
aware datetimes as Django stores them, JSON as text), without model instances or signals:
callers own the rules, the audit and the rollups of what they write.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection


def write_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Insert `rows` (values of `columns`) into `table`: one COPY on PostgreSQL (an order
    of magnitude faster than INSERTs with Django's client-side binding), one prepared
    `executemany` on the SQLite driver. Table and column names come from model metadata,
    never from input; values are always bound."""
    quote = connection.ops.quote_name
    names = ", ".join(quote(c) for c in columns)
    if connection.vendor == "postgresql":
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY {quote(table)} ({names}) FROM STDIN") as copy,
        ):
            write_row = copy.write_row
            for row in rows:
                write_row(row)
        return
    marks = ", ".join(["%s"] * len(columns))
    sql = f"INSERT INTO {quote(table)} ({names}) VALUES ({marks})"  # noqa: S608 (metadata)
    if connection.vendor == "sqlite":
        # The driver's own executemany: one prepared statement, no per-row wrapper.
        connection.ensure_connection()
        connection.connection.executemany(sql.replace("%s", "?"), rows)
        return
    with connection.cursor() as cursor:
        cursor.executemany(sql, list(rows))
