"""Rows claimed by the statement that takes them.

Two workers (or two sweeps) running at once must never take the same row. The claim is
therefore one statement that both selects and changes the rows, with the condition
checked again on each row it changes; on PostgreSQL the rows another transaction holds
are skipped (`FOR UPDATE SKIP LOCKED`), not waited for. SQLite has one writer at a time:
the claiming transaction holds the only write lock, so there is nothing to skip.

Table names, column names and conditions come from the caller's constants and model
metadata, never from input; values are always bound.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection


def _skip_locked() -> str:
    return (
        " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    )


def claim_by_update_sql(table: str, *, assign: str, due: str, order: str = "") -> str:
    """The UPDATE that claims up to ``limit`` rows of `table` matching `due`, setting
    `assign`, and returns their ids. Its parameters are ``[*due_params, limit,
    *due_params]`` (see `claim_by_update`).

    On PostgreSQL the chunk's ids are collected once into an array and the rows found by
    primary key (a semi-join could otherwise rescan every due row for each chunk)."""
    order_by = f" ORDER BY {order}" if order else ""
    chunk = f"SELECT id FROM {table} WHERE {due}{order_by} LIMIT %s"  # noqa: S608 (constants)
    if connection.vendor == "postgresql":
        where = f"id = ANY(ARRAY({chunk}{_skip_locked()}))"
    else:
        where = f"id IN ({chunk})"
    return f"UPDATE {table} SET {assign} WHERE {where} AND {due} RETURNING id"  # noqa: S608 (constants)


def claim_by_update(
    table: str,
    *,
    assign: str,
    due: str,
    params: Sequence[Any] = (),
    limit: int,
    order: str = "",
) -> list[int]:
    """Claim up to `limit` rows of `table` for which `due` (an SQL condition with `params`
    for its placeholders) holds, by setting `assign` on them; their ids.

    The condition is checked again on each row being updated, and on PostgreSQL rows
    another transaction has locked are skipped: of two claims at once each row goes to
    exactly one. `order` (columns) picks which rows come first when more are due. Call it
    inside the transaction that should hold the claim."""
    sql = claim_by_update_sql(table, assign=assign, due=due, order=order)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, limit, *params])
        return [row[0] for row in cursor.fetchall()]


def take_oldest(table: str, columns: Sequence[str], *, limit: int) -> list[tuple[Any, ...]]:
    """Delete up to `limit` rows of `table`, lowest ids first, and return their `columns`.

    Rows another transaction holds are skipped on PostgreSQL (two takers at once take
    disjoint rows). Call it inside the transaction that uses the rows: if it rolls back,
    they are back."""
    q = connection.ops.quote_name
    names = ", ".join(q(c) for c in columns)
    sql = (
        f"DELETE FROM {q(table)} WHERE id IN (SELECT id FROM {q(table)} ORDER BY id "  # noqa: S608 (model metadata)
        f"LIMIT %s{_skip_locked()}) RETURNING {names}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [limit])
        return list(cursor.fetchall())
