"""Loading many rows at once (the CSV import, the city generator): the database-specific
parts around the one bulk writer (`core.bulk.write_rows`).

- Ids handed out in bulk (`take_ids`). An import may run while the platform is live, so
  on PostgreSQL they come from the table's own sequence (`nextval` over
  `generate_series`: other writers simply get the next ones). On SQLite the loading
  transaction holds the database's write lock from its first write, so the largest id
  (or the AUTOINCREMENT counter, if higher) + 1 … is safe.
- Rows inserted from Python values, every other column getting its field's default
  (`insert_rows`), and values prepared for the bulk path by hand (`date_value`,
  `decimal_value`, `utc_datetime_value`, `default_value`: PostgreSQL's COPY takes the
  Python values, SQLite's executemany takes text as Django stores it; `converters()` gives
  the first three bound once, for loops over millions of values).
- A filter on a long list of values (`any_of`), the planner's statistics after a large
  load (`analyze`), id sequences moved past ids made in memory (`sync_id_sequences`) and a
  batch transaction without synchronous commit or foreign-key triggers where the role may
  (`relax_batch`), and SQLite's page cache enlarged for the length of a load
  (`load_cache`).

Domain code calls these and never asks which database it runs on.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import DatabaseError, connection, transaction

from qingquan.core.db import bulk


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
    """Insert rows (Python values of `columns`, attnames including "id"); every other
    concrete column gets its field's default. One COPY (PostgreSQL) or executemany
    (SQLite) per call."""
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


def _text_values() -> bool:
    """True where the bulk path takes dates, decimals and datetimes as text (SQLite)."""
    return connection.vendor != "postgresql"


def date_value(day: dt.date) -> Any:
    """A date as `core.bulk.write_rows` takes it on this database."""
    return day.isoformat() if _text_values() else day


def decimal_value(value: Decimal) -> Any:
    """A decimal as `core.bulk.write_rows` takes it on this database."""
    return str(value) if _text_values() else value


def utc_datetime_value(moment: dt.datetime) -> Any:
    """An aware UTC datetime as `core.bulk.write_rows` takes it on this database (SQLite:
    naive UTC text, as Django stores it)."""
    return moment.replace(tzinfo=None).isoformat(" ") if _text_values() else moment


@dataclass(frozen=True)
class Converters:
    """`date_value`, `decimal_value` and `utc_datetime_value` for the database of the
    moment, bound once: a loop over millions of values does not ask the connection which
    database it is each time (that lookup cost more than the conversion)."""

    date: Callable[[dt.date], Any]
    decimal: Callable[[Decimal], Any]
    utc_datetime: Callable[[dt.datetime], Any]


def converters() -> Converters:
    """The value converters of the bulk path for this database."""
    if not _text_values():
        same = _same
        return Converters(date=same, decimal=same, utc_datetime=same)
    return Converters(
        date=dt.date.isoformat,
        decimal=str,
        utc_datetime=lambda moment: moment.replace(tzinfo=None).isoformat(" "),
    )


def _same(value: Any) -> Any:
    return value


def default_value(value: Any) -> Any:
    """A field's default (a decimal, a date, anything else) as `core.bulk.write_rows`
    takes it on this database."""
    if connection.vendor != "sqlite":
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def any_of(column: str, values: list[Any]) -> tuple[str, list[Any]]:
    """A WHERE test that the quoted `column` is one of `values`, with its parameters:
    `= ANY(%s)` with one array parameter on PostgreSQL, `IN (%s, …)` on SQLite (the ORM's
    `__in` costs more than the query for a few thousand values)."""
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", [values]
    return f"{column} IN ({', '.join(['%s'] * len(values))})", values


def analyze(models: Iterable[Any]) -> None:
    """Fresh planner statistics for the tables of `models` after a large load
    (PostgreSQL; SQLite plans without them). Without them PostgreSQL scanned a freshly
    filled bill table for a screen pop (seen: 750 ms instead of 16 ms at 100k accounts)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


def sync_id_sequences(last_ids: dict[Any, int]) -> None:
    """Move each model's id sequence to the last id handed out in memory (PostgreSQL;
    SQLite continues from max(id) by itself)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model, last in last_ids.items():
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)",
                [model._meta.db_table, max(last, 1)],
            )


@contextlib.contextmanager
def load_cache(megabytes: int = 256) -> Iterator[None]:
    """While a large load runs on SQLite, a page cache of `megabytes` on this connection
    (restored after): the indexes with scattered keys (names, addresses, phone digits)
    stay in memory instead of being read back and written out at every few inserts.
    Nothing on PostgreSQL (its shared buffers are the server's)."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        before = int(cursor.fetchone()[0])
        cursor.execute(f"PRAGMA cache_size = {-int(megabytes) * 1024}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {before}")


def relax_batch() -> None:
    """Inside a batch's transaction of rows made by the program itself: no synchronous
    commit and, where the role may use it, replica mode (no foreign-key triggers, as
    pg_restore does) on PostgreSQL; nothing on SQLite (the caller disables constraint
    checking through Django, which is SQLite's own switch)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit = off")
        try:
            with transaction.atomic():
                cursor.execute("SET LOCAL session_replication_role = replica")
        except DatabaseError:
            pass  # not a superuser: the checks run at commit
