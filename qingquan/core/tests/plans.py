"""How the database reaches the rows of captured statements: for tests of look-ups that
must stay index look-ups as their tables grow (a look-up that reads every row of a client
or of a phone system is fast in a test and slow a year later)."""

from __future__ import annotations

import re
from typing import Any

from django.db import connection, transaction

_SQLITE_SEARCH = re.compile(r"SEARCH \S+ USING (?:COVERING )?INDEX \S+ \(([^)]*)\)")


def lookups(captured: Any, *, table: str, column: str) -> list[tuple[str, str]]:
    """(statement, plan) of every captured SELECT that reads `table` and names `column`
    in its WHERE clause."""
    found = []
    for query in captured:
        sql = query["sql"]
        head, _, where = sql.partition(" WHERE ")
        reads = sql.lstrip().upper().startswith("SELECT") and f'"{table}"' in head
        if reads and f'"{column}"' in where:
            found.append((sql, plan(sql, table=table, column=column)))
    return found


def plan(sql: str, *, table: str = "", column: str = "") -> str:
    """The database's plan for `sql`. On PostgreSQL, which chooses among usable indexes
    by cost (and on a test's tiny table a scan of another index can cost least), the
    plan is taken with sequential scans priced out and with the table's indexes that do
    not cover `column` dropped for the moment (a savepoint rolled back): it then shows
    whether an index on `column` can answer the query at all."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + sql)
            return "\n".join(str(row[-1]) for row in cursor.fetchall())
        point = transaction.savepoint()
        try:
            cursor.execute("SET LOCAL enable_seqscan = off")
            for name in _indexes_without(cursor, table, column) if table and column else []:
                cursor.execute(f'DROP INDEX "{name}"')
            cursor.execute("EXPLAIN " + sql)
            return "\n".join(str(row[0]) for row in cursor.fetchall())
        finally:
            transaction.savepoint_rollback(point)


def _indexes_without(cursor: Any, table: str, column: str) -> list[str]:
    """PostgreSQL: the table's indexes (not backing a constraint) that leave `column` out."""
    cursor.execute(
        "SELECT i.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
        "JOIN pg_class t ON t.oid = x.indrelid WHERE t.relname = %s "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid) "
        "AND pg_get_indexdef(x.indexrelid) NOT LIKE %s",
        [table, f"%{column}%"],
    )
    return [row[0] for row in cursor.fetchall()]


def finds_by(plan_text: str, column: str) -> bool:
    """Whether the plan reaches the rows through an index searched on `column`."""
    if connection.vendor == "sqlite":
        return any(f"{column}=" in terms for terms in _SQLITE_SEARCH.findall(plan_text))
    return any(
        "Index Cond:" in line and re.search(rf"\b{column}\b", line)
        for line in plan_text.splitlines()
    )
