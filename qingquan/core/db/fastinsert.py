"""One INSERT of one row, without the ORM's per-call query compilation (issue #12).

`Model.objects.create()` builds and compiles its INSERT anew on every call: on the case
intake path, a dozen rows a request, that was a large share of the CPU. `insert()` keeps
each statement's text per (model, columns, database) and only converts the values, exactly
as the ORM would (`get_db_prep_save`). `create(..., signals=True)` sends `pre_save` and
`post_save` as `Model.save()` does, for rows that other apps listen to (the case, its
contact and its timeline entry); without it no signal is sent. Fields that compute their
value on save (`auto_now`, files) are not supported: give their values explicitly.
"""

from __future__ import annotations

import threading
from typing import Any, TypeVar

from django.db import connection
from django.db.models import Model
from django.db.models.signals import post_save, pre_save

_statements: dict[tuple[str, str, tuple[str, ...], bool], tuple[str, list[Any]]] = {}

_lock = threading.Lock()

M = TypeVar("M", bound=Model)


def insert(model: type[Model], values: dict[str, Any], *, skip_conflict: bool = False) -> Any:
    """Insert one row of `model` from `values` (field names or attnames, e.g.
    ``actor_id``, to Python values) and return its id. With `skip_conflict`, a row that
    would break a unique constraint is not inserted (`ON CONFLICT DO NOTHING`, no error
    raised or logged) and None is returned."""
    names = tuple(values)
    key = (model._meta.label, connection.vendor, names, skip_conflict)
    cached = _statements.get(key)
    if cached is None:
        fields: list[Any] = [model._meta.get_field(name) for name in names]
        q = connection.ops.quote_name
        columns = ", ".join(q(f.column) for f in fields)
        conflict = "ON CONFLICT DO NOTHING " if skip_conflict else ""
        sql = (
            f"INSERT INTO {q(model._meta.db_table)} ({columns}) "  # noqa: S608 (model metadata)
            f"VALUES ({', '.join(['%s'] * len(fields))}) {conflict}"
            f"RETURNING {q(str(model._meta.pk.column))}"
        )
        cached = (sql, fields)
        with _lock:
            _statements[key] = cached
    sql, fields = cached
    params = [
        field.get_db_prep_save(values[name], connection)
        for field, name in zip(fields, names, strict=True)
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row[0] if row is not None else None


def saved(instance: M, pk: int) -> M:
    """`instance` marked as the stored row `pk` (as `create()` leaves it)."""
    instance.pk = pk
    instance._state.adding = False
    instance._state.db = connection.alias
    return instance


def create(instance: M, *, skip_conflict: bool = False, signals: bool = False) -> M | None:
    """Insert `instance` (every concrete field but an automatic id) and return it saved
    (None when `skip_conflict` and the row was not inserted). With `signals`, `pre_save`
    and `post_save` (created) are sent around the insert, as `save()` sends them."""
    model = type(instance)
    meta = instance._meta
    if signals:
        pre_save.send(
            sender=model, instance=instance, raw=False, using=connection.alias, update_fields=None
        )
    names = [f.attname for f in meta.concrete_fields if f is not meta.auto_field]
    values = {name: getattr(instance, name) for name in names}
    pk = insert(model, values, skip_conflict=skip_conflict)
    if pk is None:
        return None
    saved(instance, pk)
    if signals:
        post_save.send(
            sender=model,
            instance=instance,
            created=True,
            update_fields=None,
            raw=False,
            using=connection.alias,
        )
    return instance
