"""Numbers counted per local day (case numbers such as 20261128-0042): the SQL of each
database behind two calls, `take` and `take_early`.

SQLite: an upsert of the day's counter row, inside the creating transaction (SQLite has
one writer at a time anyway): gapless. PostgreSQL: one sequence a day (decision 0009),
created by the day's first number; `nextval` takes no row lock and is not undone by a
rollback, so concurrent creations never wait on each other for a number, and a creation
rolled back after taking its number leaves a gap.

The domain app describes where its numbers live with a `DayNumbers` (table names from its
models' metadata); this module imports no domain app.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction


@dataclass(frozen=True)
class DayNumbers:
    """Where one kind of per-day number lives.

    `counter_table` has the columns (day unique, last); `sequence_prefix` + yyyymmdd names
    PostgreSQL's sequence of a day; `numbered_table`.`numbered_column` holds the numbers
    handed out ("yyyymmdd-NNNN": a new sequence starts after the day's largest);
    `lock_base` + yyyymmdd is the advisory lock key serialising a day's sequence creation;
    `also` is a scalar subquery read in the same round trip as the number (e.g. a cache
    token), "NULL" for none.
    """

    counter_table: str
    sequence_prefix: str
    numbered_table: str
    numbered_column: str
    lock_base: int
    also: str = "NULL"

    def counter_sql(self) -> str:
        return (
            f"INSERT INTO {self.counter_table} (day, last) VALUES (%s, 1) "  # noqa: S608 (model metadata)
            f"ON CONFLICT (day) DO UPDATE SET last = {self.counter_table}.last + 1 "
            f"RETURNING last, {self.also}"
        )

    def sequence_sql(self) -> str:
        return (
            "SELECT CASE WHEN to_regclass(%s) IS NOT NULL THEN nextval(to_regclass(%s)) END, "
            f"{self.also}"
        )

    def sequence_name(self, day: dt.date) -> str:
        return f"{self.sequence_prefix}{day:%Y%m%d}"


def take(numbers: DayNumbers, day: dt.date) -> tuple[int, Any]:
    """The day's next number and the value of `numbers.also`, in one round trip (the
    day's first number on PostgreSQL: a few more, to create its sequence)."""
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            cursor.execute(numbers.counter_sql(), [day])
            last, also = cursor.fetchone()
            return int(last), also
        name = numbers.sequence_name(day)
        cursor.execute(numbers.sequence_sql(), [name, name])
        last, also = cursor.fetchone()
    if last is None:
        last = _create_day_sequence(numbers, day)
    return int(last), also


def take_early(numbers: DayNumbers, day: dt.date) -> tuple[int, Any] | None:
    """`take`, when the number should be taken before the creating transaction opens:
    on PostgreSQL outside any transaction (the day's first creation then does not hold the
    sequence's creation lock through its own transaction); None otherwise (SQLite takes
    it inside: no gaps)."""
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        return take(numbers, day)
    return None


def _create_day_sequence(numbers: DayNumbers, day: dt.date) -> int:
    """Create the day's number sequence (first number of the day) and take its first
    value. Serialised by an advisory lock held to the end of the transaction, so two
    processes never race on the catalogue (`IF NOT EXISTS` then only skips, with a
    notice, never a duplicate-key error). It starts after any number the day already has
    (the counter row of earlier versions, rows imported or generated for the day)."""
    name = numbers.sequence_name(day)
    stamp = f"{day:%Y%m%d}"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [numbers.lock_base + int(stamp)])
        cursor.execute(
            "SELECT GREATEST("  # noqa: S608 (table and column names from model metadata)
            f"COALESCE((SELECT last FROM {numbers.counter_table} WHERE day = %s), 0), "
            f"COALESCE((SELECT max(substr({numbers.numbered_column}, 10)::bigint) "
            f"FROM {numbers.numbered_table} "
            f"WHERE {numbers.numbered_column} LIKE %s), 0))",
            [day, f"{stamp}-%"],
        )
        start = int(cursor.fetchone()[0]) + 1
        cursor.execute(f"CREATE SEQUENCE IF NOT EXISTS {name} START WITH {start}")
        cursor.execute("SELECT nextval(%s)", [name])
        return int(cursor.fetchone()[0])
