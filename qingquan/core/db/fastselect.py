"""The id of the first row matching a few equalities, without the ORM's per-call query
compilation (issue #12): the intake path asks two such questions per case (is this
external id known, has this client a webhook subscription), and building a queryset's SQL
cost more than running it. Statements are kept per (model, columns, database)."""

from __future__ import annotations

import threading
from typing import Any

from django.db import connection
from django.db.models import Model

_statements: dict[tuple[str, str, tuple[str, ...]], tuple[str, list[Any], list[Any]]] = {}
_lock = threading.Lock()


def first_id(model: type[Model], *, within: str = "", **equals: Any) -> Any:
    """The id of one row of `model` whose fields (names or attnames) equal the values,
    or None.

    `within` names a partial unique constraint of the model whose index answers the
    question: its condition is added to the WHERE clause, since SQLite uses a partial
    index only for a query that states the index's condition (without it, SQLite read
    every case of a partner client to find an external id: a look-up that grew with the
    table)."""
    names = tuple(equals)
    key = (model._meta.label, connection.vendor, (*names, within))
    cached = _statements.get(key)
    if cached is None:
        cached = _statement(model, names, within)
        with _lock:
            _statements[key] = cached
    sql, fields, condition_params = cached
    params = [
        field.get_db_prep_value(equals[name], connection)
        for field, name in zip(fields, names, strict=True)
    ] + condition_params
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row[0] if row is not None else None


def _statement(
    model: type[Model], names: tuple[str, ...], within: str
) -> tuple[str, list[Any], list[Any]]:
    fields: list[Any] = [model._meta.get_field(name) for name in names]
    q = connection.ops.quote_name
    terms = [f"{q(f.column)} = %s" for f in fields]
    condition_params: list[Any] = []
    if within:
        condition_sql, condition_params = _condition(model, within)
        terms.append(condition_sql)
    sql = (
        f"SELECT {q(str(model._meta.pk.column))} FROM {q(model._meta.db_table)} "  # noqa: S608 (model metadata)
        f"WHERE {' AND '.join(terms)} LIMIT 1"
    )
    return sql, fields, list(condition_params)


def _condition(model: type[Model], name: str) -> tuple[str, list[Any]]:
    """The SQL of the condition of the model's constraint `name`, as Django writes it
    in the index (columns unqualified)."""
    from django.db.models import UniqueConstraint
    from django.db.models.sql import Query

    constraint = next(c for c in model._meta.constraints if c.name == name)
    if not isinstance(constraint, UniqueConstraint) or constraint.condition is None:
        raise ValueError(f"{name} is not a partial unique constraint of {model._meta.label}")
    query = Query(model=model, alias_cols=False)
    where = query.build_where(constraint.condition)
    sql, params = where.as_sql(query.get_compiler(connection=connection), connection)
    return f"({sql})", list(params)
