"""Counter rows: add to the row of some dimensions, creating it when missing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.db import connection
from django.db.models import Model


def upsert_counter(
    model: type[Model],
    dims: Mapping[str, Any],
    counts: Mapping[str, int],
    *,
    measures: Sequence[str],
) -> None:
    """Add `counts` (counter column → number) to the row of `model` with `dims` (field
    name → value: the model's unique dimensions), creating the row when missing, with
    every column of `measures` (the model's counter columns) 0 but for `counts`.

    One `INSERT … ON CONFLICT DO UPDATE`: atomic under concurrency on both databases."""
    meta: Any = model._meta
    table = meta.db_table
    columns = [*dims, *measures]
    q = connection.ops.quote_name
    values = [
        *(meta.get_field(name).get_db_prep_save(v, connection) for name, v in dims.items()),
        *(counts.get(m, 0) for m in measures),
    ]
    sets = ", ".join(f"{q(m)} = {q(table)}.{q(m)} + EXCLUDED.{q(m)}" for m in counts)
    sql = (
        f"INSERT INTO {q(table)} ({', '.join(q(c) for c in columns)}) "  # noqa: S608 (model metadata)
        f"VALUES ({', '.join(['%s'] * len(columns))}) "
        f"ON CONFLICT ({', '.join(q(d) for d in dims)}) DO UPDATE SET {sets}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
