"""Small questions of one table by a few equalities, without the ORM's per-call query
compilation (issue #12): the id of the first matching row, how many match, the matching
rows as model instances. The intake path asks two such questions per case (is this
external id known, has this client a webhook subscription) and a crew's step three (the
job's pauses, its merged calls): building a queryset's SQL cost more than running it.
Statements are kept per (model, question, columns, database)."""

from __future__ import annotations

import threading
from typing import Any

from django.db import connection
from django.db.models import Model

_statements: dict[tuple[str, str, tuple[str, ...]], tuple[str, list[Any], list[Any]]] = {}
_columns_of: dict[tuple[str, str], tuple[list[str], list[tuple[int, Any, list[Any]]]]] = {}
_lock = threading.Lock()


def first_id(model: type[Model], *, within: str = "", **equals: Any) -> Any:
    """The id of one row of `model` whose fields (names or attnames) equal the values,
    or None.

    `within` names a partial unique constraint of the model whose index answers the
    question: its condition is added to the WHERE clause, since SQLite uses a partial
    index only for a query that states the index's condition (without it, SQLite read
    every case of a partner client to find an external id: a look-up that grew with the
    table)."""
    found = _run(model, "id", equals, within=within)
    return found[0][0] if found else None


def count(model: type[Model], **equals: Any) -> int:
    """How many rows of `model` have fields equal to the values."""
    return int(_run(model, "count", equals)[0][0])


def rows(model: type[Model], *, order_by: str = "", lock: bool = False, **equals: Any) -> list[Any]:
    """The rows of `model` whose fields equal the values, as instances with every
    concrete field loaded (converted as the ORM converts them), in the order of the field
    `order_by`, then the id. `lock`: held until the transaction ends, as
    `select_for_update()` holds them (FOR UPDATE on PostgreSQL; on SQLite the writing
    transaction already holds the database's one write lock)."""
    names, converters = _columns(model)
    result = []
    for found in _run(model, "rows", equals, order_by=order_by, lock=lock):
        values = list(found)
        for i, column, functions in converters:
            for convert in functions:
                values[i] = convert(values[i], column, connection)
        result.append(model.from_db(connection.alias, names, values))
    return result


def _columns(model: type[Model]) -> tuple[list[str], list[tuple[int, Any, list[Any]]]]:
    """The model's concrete attnames and, for the columns that need them, the database's
    and the field's converters (those the ORM's compiler applies); worked out once per
    model and database, like the statements."""
    key = (model._meta.label, connection.vendor)
    known = _columns_of.get(key)
    if known is None:
        known = _converters(model)
        with _lock:
            _columns_of[key] = known
    return known


def _converters(model: type[Model]) -> tuple[list[str], list[tuple[int, Any, list[Any]]]]:
    fields = model._meta.concrete_fields
    converters = []
    for i, field in enumerate(fields):
        column = field.get_col(model._meta.db_table)
        functions = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        if functions:
            converters.append((i, column, functions))
    return [f.attname for f in fields], converters


def _run(
    model: type[Model],
    what: str,
    equals: dict[str, Any],
    *,
    within: str = "",
    order_by: str = "",
    lock: bool = False,
) -> list[Any]:
    # A field equal to None is `IS NULL` in the statement, which then takes no value for it.
    names = tuple(name if value is not None else f"{name}:null" for name, value in equals.items())
    key = (model._meta.label, connection.vendor, (what, *names, within, order_by, str(lock)))
    cached = _statements.get(key)
    if cached is None:
        cached = _statement(model, what, names, within, order_by, lock)
        with _lock:
            _statements[key] = cached
    sql, fields, condition_params = cached
    params = [
        field.get_db_prep_value(equals[field_name], connection) for field, field_name in fields
    ] + condition_params
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def _statement(
    model: type[Model], what: str, names: tuple[str, ...], within: str, order_by: str, lock: bool
) -> tuple[str, list[Any], list[Any]]:
    q = connection.ops.quote_name
    fields: list[Any] = []  # (field, name) of the terms that take a value, in order
    terms = []
    for name in names:
        field_name, _sep, null = name.partition(":")
        field: Any = model._meta.get_field(field_name)
        column = q(str(field.column))
        if null:
            terms.append(f"{column} IS NULL")
        else:
            terms.append(f"{column} = %s")
            fields.append((field, field_name))
    condition_params: list[Any] = []
    if within:
        condition_sql, condition_params = _condition(model, within)
        terms.append(condition_sql)
    pk = q(str(model._meta.pk.column))
    if what == "count":
        select = "COUNT(*)"
    elif what == "rows":
        select = ", ".join(q(str(f.column)) for f in model._meta.concrete_fields)
    else:
        select = pk
    order = [q(str(_fields_by_name(model)[order_by].column))] if order_by else []
    tail = f" ORDER BY {', '.join([*order, pk])}" if what == "rows" else ""
    tail += " LIMIT 1" if what == "id" else ""
    tail += " FOR UPDATE" if lock and connection.features.has_select_for_update else ""
    sql = (
        f"SELECT {select} FROM {q(model._meta.db_table)} "  # noqa: S608 (model metadata)
        f"WHERE {' AND '.join(terms)}{tail}"
    )
    return sql, fields, list(condition_params)


def _fields_by_name(model: type[Model]) -> dict[str, Any]:
    return {f.name: f for f in model._meta.concrete_fields}


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
