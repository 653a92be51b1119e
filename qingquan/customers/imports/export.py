"""Exporting the registry as the CSV files the import reads."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from qingquan.customers.imports.rows import COLUMNS, ORDER, Progress
from qingquan.customers.models import (
    Account,
    Bill,
    Customer,
    Meter,
    MeterReading,
    Premise,
)


def export_files(directory: Path, *, progress: Progress | None = None) -> dict[str, int]:
    """Write the registry as the same CSV files `import_files` reads; rows per file."""
    directory.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    writers: dict[str, Callable[[], Iterator[list[Any]]]] = {
        "customers": _export_customers,
        "premises": _export_premises,
        "accounts": _export_accounts,
        "meters": _export_meters,
        "readings": _export_readings,
        "bills": _export_bills,
    }
    for kind in ORDER:
        with (directory / f"{kind}.csv").open("w", encoding="utf-8", newline="") as stream:
            writer = csv.writer(stream)
            writer.writerow(COLUMNS[kind])
            count = 0
            for row in writers[kind]():
                writer.writerow(row)
                count += 1
                if progress and count % 10000 == 0:
                    progress(kind, count)
            counts[kind] = count
            if progress:
                progress(kind, count)
    return counts


CHUNK = 2000


def _export_customers() -> Iterator[list[Any]]:
    for c in Customer.objects.order_by("pk").prefetch_related("phones").iterator(CHUNK):
        yield [c.legacy_ref or f"C{c.pk}", c.kind, c.name, c.uscc, c.id_number,
               ";".join(p.number for p in c.phones.all()),
               int(c.elderly_or_impaired), int(c.sensitive)]  # fmt: skip


def _export_premises() -> Iterator[list[Any]]:
    qs = Premise.objects.order_by("pk").select_related("district", "street", "community")
    for p in qs.iterator(CHUNK):
        yield [p.legacy_ref or f"P{p.pk}", p.district.name, p.street.name if p.street else "",
               p.community.name if p.community else "", p.road, p.building, p.unit, p.room,
               "" if p.latitude is None else p.latitude,
               "" if p.longitude is None else p.longitude]  # fmt: skip


def _export_accounts() -> Iterator[list[Any]]:
    qs = Account.objects.order_by("pk").select_related("customer", "premise", "tariff")
    for a in qs.iterator(CHUNK):
        yield [a.number, a.customer.legacy_ref or f"C{a.customer_id}",
               a.premise.legacy_ref or f"P{a.premise_id}", a.kind, a.tariff.code,
               a.household_size, a.opened_on.isoformat()]  # fmt: skip


def _export_meters() -> Iterator[list[Any]]:
    for m in Meter.objects.order_by("pk").select_related("account").iterator(CHUNK):
        yield [m.serial, m.account.number, m.size_mm, m.installed_on.isoformat(),
               m.initial_reading]  # fmt: skip


def _export_readings() -> Iterator[list[Any]]:
    qs = (
        MeterReading.objects.valid()
        .order_by("pk")
        .values_list("meter__serial", "read_on", "value", "source")
    )
    for serial, read_on, value, source in qs.iterator(CHUNK):
        yield [serial, read_on.isoformat(), value, source]


def _export_bills() -> Iterator[list[Any]]:
    qs = Bill.objects.not_cancelled().with_paid().order_by("pk").select_related("account")
    for b in qs.iterator(CHUNK):
        yield [b.account.number, b.period_start.isoformat(), b.period_end.isoformat(), b.total,
               b.paid]  # fmt: skip
