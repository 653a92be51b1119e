"""The readings file in chunks, flagged as `services.reading_record` flags them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection
from django.utils.translation import gettext as _

from qingquan.core import clock
from qingquan.core.actors import system
from qingquan.customers import services
from qingquan.customers.imports.rows import (
    LITRE,
    MANUAL,
    Chunk,
    ImportReport,
    RowProblem,
    _as_date,
    _checked,
    _date,
    _decimal,
    _not_one_of,
    _Rules,
    _select_in,
)
from qingquan.customers.models import (
    Meter,
    MeterReading,
    ReadingSource,
)

READING_COLUMNS = ["meter_id", "read_on", "value", "source", "flagged", "flag_reason",
                   "recorded_at"]  # fmt: skip


@dataclass
class _MeterState:
    pk: int
    serial: str
    installed_on: dt.date
    removed_on: dt.date | None
    initial: Decimal
    size_mm: int
    last: tuple[dt.date, Decimal] | None = None  # the last valid reading known
    pending: list[tuple[dt.date, Decimal]] = field(default_factory=list)  # this chunk's


def _bulk_readings(chunk: Chunk, report: ImportReport, rules: _Rules) -> None:
    """Readings as `services.reading_record` would record them one by one, in file order:
    each meter's last valid reading is fetched once for the chunk, and the chunk's own
    readings are laid on top in memory. A reading older than one already known (out of
    order) asks the database for its neighbours, like the service does."""
    serials = {row["meter"].strip() for _n, row in chunk}
    meters: dict[str, _MeterState] = {}
    for pk, serial, installed, removed, initial, size in _select_in(
        Meter, "id, serial, installed_on, removed_on, initial_reading, size_mm", "serial",
        serials, "",
    ):  # fmt: skip
        meters[serial] = _MeterState(pk, serial, _as_date(installed), _as_date(removed),
                                     Decimal(initial).quantize(LITRE), size)  # fmt: skip
    by_pk = {m.pk: m for m in meters.values()}
    for meter_id, read_on, value in _last_readings(list(by_pk)):
        by_pk[meter_id].last = (_as_date(read_on), Decimal(value).quantize(LITRE))
    today = clock.today()
    now = clock.now()
    sources = rules.reading_sources

    def build(row: dict[str, str]) -> tuple[Any, ...]:
        serial = row["meter"].strip()
        meter = meters.get(serial)
        if meter is None:
            raise RowProblem("meter", _("no meter %(s)r") % {"s": serial})
        read_on = _date(row, "read_on")
        value = _decimal(row, "value")
        source = (row.get("source") or "").strip() or MANUAL
        if source not in sources:
            raise RowProblem("source", _not_one_of(source, ReadingSource))
        # `services._reading_checked`, in the same order.
        if value < 0:
            raise ValidationError(_("A meter reading cannot be negative."))
        if read_on > today:
            raise ValidationError(_("A reading cannot be dated in the future."))
        if read_on < meter.installed_on or (meter.removed_on and read_on > meter.removed_on):
            raise ValidationError(
                _("Meter %(s)s was not installed on %(d)s.") % {"s": serial, "d": read_on}
            )
        known = meter.last
        if meter.pending and (known is None or meter.pending[-1][0] >= known[0]):
            known = meter.pending[-1]  # recorded after anything in the database
        if known is None or known[0] <= read_on:
            before, after = known, None
        else:
            before, after = _neighbours(meter, read_on)
        reason = services.reading_flag_reason(
            serial=serial, installed_on=meter.installed_on, initial_reading=meter.initial,
            size_mm=meter.size_mm, read_on=read_on, value=value, before=before, after=after,
        )  # fmt: skip
        if reason:
            # The service records it flagged and raises; the importer's savepoint drops it.
            raise ValidationError(reason)
        meter.pending.append((read_on, value.quantize(LITRE)))  # as stored
        if after is not None:  # keep `pending` sorted as the service's ORDER BY would
            meter.pending.sort(key=lambda r: r[0])
        return (meter.pk, read_on, value, source, False, "", now)

    good = _checked("readings", chunk, report, build)
    services.registry_rows_import(
        actor=system("import"),
        model=MeterReading,
        columns=READING_COLUMNS,
        rows=[r for _n, r in good],
    )


def _last_readings(meter_ids: list[int]) -> list[tuple[Any, ...]]:
    """(meter id, day, value) of each meter's last valid reading (by day, then id)."""
    if not meter_ids:
        return []
    table = connection.ops.quote_name(MeterReading._meta.db_table)
    marks = ", ".join(["%s"] * len(meter_ids))
    # The table name comes from model metadata, values are parameters.
    sql = (
        "SELECT meter_id, read_on, value FROM (SELECT meter_id, read_on, value, ROW_NUMBER() "  # noqa: S608
        "OVER (PARTITION BY meter_id ORDER BY read_on DESC, id DESC) AS n "
        f"FROM {table} WHERE NOT flagged AND meter_id IN ({marks})) last WHERE n = 1"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, meter_ids)
        return cursor.fetchall()


def _neighbours(
    meter: _MeterState, read_on: dt.date
) -> tuple[tuple[dt.date, Decimal] | None, tuple[dt.date, Decimal] | None]:
    """The valid readings just before (same day counts, the latest recorded wins) and just
    after `read_on`: from the database (earlier chunks, earlier imports) and this chunk."""
    valid = MeterReading.objects.valid().filter(meter_id=meter.pk)
    found = valid.filter(read_on__lte=read_on).order_by("-read_on", "-pk").first()
    later = valid.filter(read_on__gt=read_on).order_by("read_on", "pk").first()
    before = (found.read_on, found.value) if found else None
    after = (later.read_on, later.value) if later else None
    for day, value in meter.pending:  # recorded after anything in the database
        if day <= read_on and (before is None or day >= before[0]):
            before = (day, value)
        if day > read_on and (after is None or day < after[0]):
            after = (day, value)
    return before, after
