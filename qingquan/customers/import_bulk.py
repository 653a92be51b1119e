"""Bulk writes for the CSV import: ids handed out in bulk, then one INSERT path per table
per chunk (COPY on PostgreSQL, executemany on SQLite).

Ids: the import may run while the platform is live, so on PostgreSQL they come from the
table's own sequence (`nextval` over `generate_series`: other writers simply get the next
ones). On SQLite the import's transaction holds the database's write lock from its first
write, so the largest id (or the AUTOINCREMENT counter, if higher) + 1 … is safe.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.db import connection

from qingquan.core import bulk


def take_ids(model: Any, count: int) -> list[int]:
    """`count` new primary keys for `model`'s table, in increasing order."""
    if count <= 0:
        return []
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [table, count],
            )
            return sorted(row[0] for row in cursor.fetchall())
        quoted = connection.ops.quote_name(table)
        cursor.execute(f"SELECT MAX(id) FROM {quoted}")  # noqa: S608 (a model's table name)
        last = cursor.fetchone()[0] or 0
        if connection.vendor == "sqlite":
            cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
            row = cursor.fetchone()
            last = max(last, row[0] if row else 0)
    return list(range(last + 1, last + 1 + count))


def _sqlite_adapter(field: Any) -> Any:
    kind = field.get_internal_type()
    ops = connection.ops
    if kind == "DateTimeField":
        # A chunk's rows share one timestamp: converted once.
        return functools.lru_cache(maxsize=8)(ops.adapt_datetimefield_value)
    if kind == "DateField":
        return lambda v: v.isoformat() if isinstance(v, dt.date) else v
    if kind == "DecimalField":
        return lambda v: str(v) if isinstance(v, Decimal) else v
    return None


def insert_rows(model: Any, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Insert rows (values of `columns`, attnames including "id"); every other concrete
    column gets its field's default."""
    if not rows:
        return
    fields = {f.attname: f for f in model._meta.concrete_fields}
    wanted = set(columns)
    others = [f for name, f in fields.items() if name not in wanted]
    names = [fields[c].column for c in columns] + [f.column for f in others]
    extra = tuple(f.get_default() for f in others)
    if connection.vendor == "postgresql":
        bulk.write_rows(
            model._meta.db_table, names, ((*row, *extra) for row in rows) if extra else rows
        )
        return

    def prepared(field: Any, value: Any) -> Any:
        adapt = _sqlite_adapter(field)
        return adapt(value) if adapt is not None and value is not None else value

    extra = tuple(prepared(f, v) for f, v in zip(others, extra, strict=True))
    adapters = [_sqlite_adapter(fields[c]) for c in columns]
    active = [(i, a) for i, a in enumerate(adapters) if a is not None]

    def adapted(row: Sequence[Any]) -> tuple[Any, ...]:
        values = list(row)
        for i, adapt in active:
            if values[i] is not None:
                values[i] = adapt(values[i])
        return (*values, *extra)

    bulk.write_rows(model._meta.db_table, names, [adapted(row) for row in rows])
