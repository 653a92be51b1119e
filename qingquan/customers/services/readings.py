"""Meter readings: recorded, or flagged for a person to check when they are lower than
before or absurdly high (`reading_flag_reason`, pure, shared with the CSV import)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from qingquan.core import clock
from qingquan.core.audit import audit_record, snapshot
from qingquan.customers.models import (
    Meter,
    MeterReading,
    ReadingSource,
)

# A reading is "absurd" when its daily use is this many times the meter's history…
ABSURD_FACTOR = Decimal(10)
# …and above this floor, so a near-empty flat that has a guest is not flagged.
ABSURD_FLOOR_M3_PER_DAY = Decimal(2)
# Permanent flow Q3 (m³/h) by meter size (GB/T 778.1): more per day is physically impossible.
Q3_BY_SIZE_MM = {15: 2.5, 20: 4, 25: 6.3, 32: 10, 40: 16, 50: 25, 80: 63, 100: 100, 150: 250}


class ReadingFlagged(ValidationError):
    """The reading was recorded, flagged for a person to check, and will not be billed."""

    def __init__(self, reading: MeterReading) -> None:
        super().__init__(reading.flag_reason)
        self.reading = reading


def _reading_checked(
    *, meter: Meter, read_on: dt.date, value: Decimal, source: str
) -> MeterReading:
    """An unsaved reading, flagged if it is lower than before or absurdly high.

    Readings that cannot be true at all (negative, outside the meter's life, in the future)
    raise instead: there is nothing to keep.
    """
    if value < 0:
        raise ValidationError(_("A meter reading cannot be negative."))
    if read_on > clock.today():
        raise ValidationError(_("A reading cannot be dated in the future."))
    if read_on < meter.installed_on or (meter.removed_on and read_on > meter.removed_on):
        raise ValidationError(
            _("Meter %(s)s was not installed on %(d)s.") % {"s": meter.serial, "d": read_on}
        )
    reading = MeterReading(
        meter=meter, read_on=read_on, value=value, source=source, recorded_at=clock.now()
    )
    valid = meter.readings.valid()
    before = valid.filter(read_on__lte=read_on).order_by("-read_on", "-pk").first()
    after = valid.filter(read_on__gt=read_on).order_by("read_on", "pk").first()
    reading.flag_reason = reading_flag_reason(
        serial=meter.serial,
        installed_on=meter.installed_on,
        initial_reading=meter.initial_reading,
        size_mm=meter.size_mm,
        read_on=read_on,
        value=value,
        before=(before.read_on, before.value) if before else None,
        after=(after.read_on, after.value) if after else None,
    )
    reading.flagged = bool(reading.flag_reason)
    return reading


def reading_flag_reason(
    *,
    serial: str,
    installed_on: dt.date,
    initial_reading: Decimal,
    size_mm: int,
    read_on: dt.date,
    value: Decimal,
    before: tuple[dt.date, Decimal] | None,
    after: tuple[dt.date, Decimal] | None,
) -> str:
    """Why a reading is suspicious ("" if it is not), from the meter and its valid readings
    just before (`read_on` or earlier, the last recorded) and just after it (day, value).

    Pure, so the CSV importer decides the same for a chunk of readings held in memory. The
    meter's usual daily use is that of its history up to `before`.
    """
    prev_value = before[1] if before else initial_reading
    prev_day = before[0] if before else installed_on
    if value < prev_value:
        return _(
            "Reading %(v)s is lower than the previous reading %(p)s of %(d)s on meter %(s)s."
        ) % {"v": value, "p": prev_value, "d": prev_day, "s": serial}
    if after is not None and value > after[1]:
        return _(
            "Reading %(v)s is higher than the later reading %(p)s of %(d)s on meter %(s)s."
        ) % {"v": value, "p": after[1], "d": after[0], "s": serial}
    days = Decimal(max((read_on - prev_day).days, 1))
    daily = (value - prev_value) / days
    limit = Decimal(str(Q3_BY_SIZE_MM.get(size_mm, 250))) * 24
    history: Decimal | None = None
    if before is not None and (before[0] - installed_on).days >= 30:
        history = (before[1] - initial_reading) / Decimal((before[0] - installed_on).days)
    if daily > limit:
        return _("Reading %(v)s means %(u)s m³ a day, more than a %(mm)s mm meter can pass.") % {
            "v": value,
            "u": daily.quantize(Decimal("0.01")),
            "mm": size_mm,
        }
    if history is not None and daily > max(history * ABSURD_FACTOR, ABSURD_FLOOR_M3_PER_DAY):
        return _(
            "Reading %(v)s means %(u)s m³ a day, over ten times this meter's usual %(h)s m³ a day."
        ) % {
            "v": value,
            "u": daily.quantize(Decimal("0.01")),
            "h": history.quantize(Decimal("0.01")),
        }
    return ""


def reading_record(
    *,
    actor: Any,
    meter: Meter,
    read_on: dt.date,
    value: Decimal,
    source: str = ReadingSource.MANUAL,
) -> MeterReading:
    """Record a meter reading.

    A reading lower than the previous one, or absurdly high against the meter's history,
    is still recorded (flagged, so a person checks it and no bill uses it) and then
    `ReadingFlagged` is raised with the reason. Not decorated with transaction.atomic on
    purpose: the flagged reading must stay written when the error is raised.
    """
    with transaction.atomic():
        locked = Meter.objects.select_for_update().get(pk=meter.pk)
        reading = _reading_checked(
            meter=locked, read_on=read_on, value=Decimal(value), source=source
        )
        reading.save()
        audit_record(
            actor=actor,
            action="customers.reading.flag" if reading.flagged else "customers.reading.record",
            obj=reading,
            after=snapshot(reading, ["meter", "read_on", "value", "source", "flagged"]),
            note=reading.flag_reason,
        )
    if reading.flagged:
        raise ReadingFlagged(reading)
    return reading


@transaction.atomic
def reading_clear_flag(*, actor: Any, reading: MeterReading, note: str) -> MeterReading:
    """A person checked a flagged reading and confirms it (e.g. a real leak, a reset meter)."""
    if not note.strip():
        raise ValidationError(_("Say why the reading is right."))
    reading = MeterReading.objects.select_for_update().get(pk=reading.pk)
    reading.flagged = False
    reading.save(update_fields=["flagged"])
    audit_record(
        actor=actor,
        action="customers.reading.confirm",
        obj=reading,
        before={"flag_reason": reading.flag_reason},
        note=note,
    )
    return reading
