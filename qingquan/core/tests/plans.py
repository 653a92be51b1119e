"""How the database reaches the rows of captured statements: for tests of look-ups that
must stay index look-ups as their tables grow (a look-up that reads every row of a client
or of a phone system is fast in a test and slow a year later)."""

from __future__ import annotations

import re
from typing import Any

from django.db import connection

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
            found.append((sql, plan(sql)))
    return found


def plan(sql: str) -> str:
    """The database's plan for `sql` (on PostgreSQL with sequential scans priced out,
    so that a tiny test table still shows which index the query could use)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + sql)
            return "\n".join(str(row[-1]) for row in cursor.fetchall())
        cursor.execute("SET LOCAL enable_seqscan = off")
        try:
            cursor.execute("EXPLAIN " + sql)
            return "\n".join(str(row[0]) for row in cursor.fetchall())
        finally:
            cursor.execute("SET LOCAL enable_seqscan = on")


def finds_by(plan_text: str, column: str) -> bool:
    """Whether the plan reaches the rows through an index searched on `column`."""
    if connection.vendor == "sqlite":
        return any(f"{column}=" in terms for terms in _SQLITE_SEARCH.findall(plan_text))
    return any(
        "Index Cond:" in line and re.search(rf"\b{column}\b", line)
        for line in plan_text.splitlines()
    )
