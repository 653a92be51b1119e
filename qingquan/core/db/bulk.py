"""Writing many rows at once: the one bulk path of the city generator, the CSV import,
the nightly rollup rewrite and the benchmarks' data.

Rows are written as they are given (values already prepared for the database: on SQLite
aware datetimes as Django stores them, JSON as text), without model instances or signals:
callers own the rules, the audit and the rollups of what they write.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection


def write_rows(
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    tail: tuple[Any, ...] = (),
) -> None:
    """Insert `rows` (values of `columns`, each followed by the values of `tail`, the
    same for every row) into `table`: one COPY on PostgreSQL (an order of magnitude faster
    than INSERTs with Django's client-side binding), multi-row INSERTs through the SQLite
    driver itself. Table and column names come from model metadata, never from input;
    values are always bound."""
    quote = connection.ops.quote_name
    names = ", ".join(quote(c) for c in columns)
    if connection.vendor == "postgresql":
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY {quote(table)} ({names}) FROM STDIN") as copy,
        ):
            write_row = copy.write_row
            for row in rows:
                write_row((*row, *tail) if tail else row)
        return
    if connection.vendor == "sqlite":
        head = f"INSERT INTO {quote(table)} ({names}) VALUES "  # noqa: S608 (metadata)
        _sqlite_rows(head, len(columns), rows, tail)
        return
    marks = ", ".join(["%s"] * len(columns))
    sql = f"INSERT INTO {quote(table)} ({names}) VALUES ({marks})"  # noqa: S608 (metadata)
    with connection.cursor() as cursor:
        cursor.executemany(sql, [(*row, *tail) for row in rows])


# Rows per INSERT on SQLite: each statement run costs a fixed part (and on an AUTOINCREMENT
# table a read and write of its counter), so several hundred rows a statement take about
# 40 % less CPU than one a statement; more gain little.
SQLITE_ROWS_PER_INSERT = 500


def _sqlite_rows(
    head: str, width: int, rows: Iterable[Sequence[Any]], tail: tuple[Any, ...]
) -> None:
    """`rows` through the driver itself: multi-row INSERTs of up to SQLITE_ROWS_PER_INSERT
    rows (within SQLite's limit on bound values), one prepared statement for every full
    chunk, the values of a chunk (each row followed by `tail`) flattened in C."""
    connection.ensure_connection()
    raw = connection.connection
    limit = raw.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)  # 32,766 since SQLite 3.32
    per = max(1, min(SQLITE_ROWS_PER_INSERT, limit // width))
    one = "(" + ", ".join(["?"] * width) + ")"
    full = head + ", ".join([one] * per)
    flat = itertools.chain.from_iterable

    def values(chunk: Sequence[Sequence[Any]]) -> list[Any]:
        if not tail:
            return list(flat(chunk))
        return list(flat(flat(zip(chunk, itertools.repeat(tail)))))

    listed = rows if isinstance(rows, list) else list(rows)
    whole = len(listed) - len(listed) % per
    for start in range(0, whole, per):
        raw.execute(full, values(listed[start : start + per]))
    if whole < len(listed):
        rest = listed[whole:]
        raw.execute(head + ", ".join([one] * len(rest)), values(rest))
