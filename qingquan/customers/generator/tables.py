"""Writing a batch's rows (core.db.bulk) and the ids they take."""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction
from django.db.models import Max

from qingquan.core.db import bulk, bulkload
from qingquan.customers.models import (
    Account,
    Bill,
    BillLine,
    Customer,
    CustomerPhone,
    Meter,
    MeterReading,
    Payment,
    Premise,
)


def _write(tables: dict[str, list[tuple[Any, ...]]]) -> None:
    """Write one batch in one transaction, without checking each row's foreign keys: the
    generator made every id itself, and checking 130 rows an account at commit costs more
    than making them. (Django's own switch on SQLite; on PostgreSQL, replica mode where the
    role may use it, as pg_restore does.)"""
    if connection.in_atomic_block:
        # Inside someone's transaction (tests, the demo): keep the checks.
        with transaction.atomic():
            for key, rows in tables.items():
                _WRITERS[key].write(rows)
        return
    disabled = connection.disable_constraint_checking()
    try:
        with transaction.atomic():
            bulkload.relax_batch()
            for key, rows in tables.items():
                _WRITERS[key].write(rows)
    finally:
        if disabled:
            connection.enable_constraint_checking()


HOUSEHOLDS = (1, 2, 2, 3, 3, 3, 4, 4, 5, 6)


class _Writer:
    """Rows of one table as tuples of the given columns; every other column gets its
    field's default, so a new field with a default does not break the generator."""

    def __init__(self, model: Any, columns: list[str]) -> None:
        self.model = model
        self.columns = columns
        self.defaults: list[tuple[str, Any]] = []
        for f in model._meta.concrete_fields:
            if f.column in columns or f.primary_key:
                continue
            self.defaults.append((f.column, f.get_default()))

    def write(self, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        names = self.columns + [c for c, _v in self.defaults]
        extra = tuple(bulkload.default_value(v) for _c, v in self.defaults)
        bulk.write_rows(self.model._meta.db_table, names, rows, tail=extra)


_WRITERS = {
    "customer": _Writer(
        Customer, ["id", "kind", "name", "uscc", "elderly_or_impaired", "created_at", "updated_at"]
    ),
    "premise": _Writer(
        Premise,
        [
            "id",
            "district_id",
            "street_id",
            "community_id",
            "road",
            "building",
            "unit",
            "room",
            "address",
            "latitude",
            "longitude",
        ],
    ),
    "phone": _Writer(
        CustomerPhone, ["id", "customer_id", "number", "national_digits", "label", "is_primary"]
    ),
    "account": _Writer(
        Account,
        [
            "id",
            "number",
            "customer_id",
            "premise_id",
            "kind",
            "tariff_id",
            "household_size",
            "opened_on",
        ],
    ),
    "meter": _Writer(
        Meter, ["id", "account_id", "serial", "size_mm", "installed_on", "initial_reading"]
    ),
    "reading": _Writer(
        MeterReading, ["id", "meter_id", "read_on", "value", "source", "recorded_at"]
    ),
    "bill": _Writer(
        Bill,
        [
            "id",
            "account_id",
            "period_start",
            "period_end",
            "previous_reading",
            "current_reading",
            "volume",
            "water_amount",
            "sewage_amount",
            "total",
            "tier_reached",
            "due_date",
            "status",
            "issued_at",
        ],
    ),
    "line": _Writer(
        BillLine,
        ["id", "bill_id", "kind", "tier", "start", "end", "volume", "unit_price", "amount"],
    ),
    "payment": _Writer(Payment, ["id", "bill_id", "amount", "channel", "paid_at", "reference"]),
}
_TABLES = {key: writer.model for key, writer in _WRITERS.items()}


class _IdBlock:
    """Primary keys handed out in memory, so a batch is one bulk write per table without
    asking the database for each id. The generator assumes it is the only writer of these
    tables while it runs (a load-test or demo database)."""

    def __init__(self) -> None:
        self.last = {
            key: model._default_manager.aggregate(m=Max("pk"))["m"] or 0
            for key, model in _TABLES.items()
        }

    def next(self, key: str) -> int:
        self.last[key] += 1
        return self.last[key]

    def sync_sequences(self) -> None:
        bulkload.sync_id_sequences({model: self.last[key] for key, model in _TABLES.items()})
