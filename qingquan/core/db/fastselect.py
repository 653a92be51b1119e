"""The id of the first row matching a few equalities, without the ORM's per-call query
compilation (issue #12): the intake path asks two such questions per case (is this
external id known, has this client a webhook subscription), and building a queryset's SQL
cost more than running it. Statements are kept per (model, columns, database)."""

from __future__ import annotations

import threading
from typing import Any

from django.db import connection
from django.db.models import Model

_statements: dict[tuple[str, str, tuple[str, ...]], tuple[str, list[Any]]] = {}
_lock = threading.Lock()


def first_id(model: type[Model], **equals: Any) -> Any:
    """The id of one row of `model` whose fields (names or attnames) equal the values,
    or None."""
    names = tuple(equals)
    key = (model._meta.label, connection.vendor, names)
    cached = _statements.get(key)
    if cached is None:
        fields: list[Any] = [model._meta.get_field(name) for name in names]
        q = connection.ops.quote_name
        where = " AND ".join(f"{q(f.column)} = %s" for f in fields)
        sql = (
            f"SELECT {q(str(model._meta.pk.column))} FROM {q(model._meta.db_table)} "  # noqa: S608 (model metadata)
            f"WHERE {where} LIMIT 1"
        )
        cached = (sql, fields)
        with _lock:
            _statements[key] = cached
    sql, fields = cached
    params = [
        field.get_db_prep_value(equals[name], connection)
        for field, name in zip(fields, names, strict=True)
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row[0] if row is not None else None
