"""The bills file in chunks, issued as `services.bill_issue` (and `payment_record`) would
issue them, with the same pure rules (`services.meter_spans_of`,
`services.annual_volume_of`) over the chunk's data in memory."""

from __future__ import annotations

import bisect
import datetime as dt
import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from qingquan.core import clock
from qingquan.core.actors import system
from qingquan.customers import billing, services
from qingquan.customers.imports.rows import (
    LITRE,
    Chunk,
    ImportReport,
    RowProblem,
    _as_date,
    _checked,
    _date,
    _decimal,
    _Rules,
    _select_in,
)
from qingquan.customers.models import (
    Account,
    Bill,
    BillStatus,
    Meter,
    MeterReading,
)

BILL_COLUMNS = ["account_id", "period_start", "period_end", "previous_reading",
                "current_reading", "volume", "water_amount", "sewage_amount", "total",
                "tier_reached", "due_date", "status", "issued_at"]  # fmt: skip
ZERO_MONEY = Decimal("0.00")


@dataclass
class _AccountState:
    pk: int
    number: str
    tariff_id: int
    household: int
    bills: list[tuple[dt.date, dt.date, Decimal]]  # not cancelled: start, end, volume
    meters: list[_BillMeter] = field(default_factory=list)


@dataclass
class _BillMeter:
    serial: str
    installed_on: dt.date
    removed_on: dt.date | None
    initial: Decimal
    readings: list[tuple[dt.date, int, Decimal]] = field(default_factory=list)  # valid, sorted

    def period(self, start: dt.date, end: dt.date) -> services.MeterPeriod:
        """The meter as the period from `start` to `end` sees it: its last valid readings
        before `start` and up to `end` (by day, then the latest recorded), found by
        bisection in the readings in memory."""
        readings = self.readings
        prior = bisect.bisect_left(readings, (start,)) - 1  # the last one before `start`
        last = bisect.bisect_right(readings, (end, math.inf)) - 1
        return services.MeterPeriod(
            serial=self.serial,
            installed_on=self.installed_on,
            removed_on=self.removed_on,
            initial=self.initial,
            before_start=readings[prior][2] if prior >= 0 else None,
            last_in_period=readings[last][2] if last >= 0 and readings[last][0] >= start else None,
        )


def _accounts(chunk: Chunk) -> dict[str, _AccountState]:
    """The chunk's accounts by number, each with its bills not cancelled since the first
    year the chunk bills, its meters (in installation order) and their valid readings."""
    numbers = {row["account"].strip() for _n, row in chunk}
    accounts: dict[str, _AccountState] = {}
    for pk, number, tariff, household in _select_in(
        Account, "id, number, tariff_id, household_size", "number", numbers, ""
    ):
        accounts.setdefault(number, _AccountState(pk, number, tariff, household, []))
    by_pk = {a.pk: a for a in accounts.values()}
    years = []
    for _n, row in chunk:
        try:
            years.append(dt.date.fromisoformat(row["period_start"].strip()).year)
        except ValueError:
            continue
    since = dt.date(min(years, default=1), 1, 1)
    cancelled = str(BillStatus.CANCELLED.value)
    for account_id, start, end, volume in _select_in(
        Bill, "account_id, period_start, period_end, volume", "account_id", list(by_pk),
        f"status <> '{cancelled}' AND period_end >= '{since.isoformat()}'",
    ):  # fmt: skip
        by_pk[account_id].bills.append(
            (_as_date(start), _as_date(end), Decimal(volume).quantize(LITRE))
        )
    meters: dict[int, _BillMeter] = {}
    for pk, account_id, serial, installed, removed, initial in sorted(
        _select_in(
            Meter, "id, account_id, serial, installed_on, removed_on, initial_reading",
            "account_id", list(by_pk), "",
        ),
        key=lambda m: (_as_date(m[3]), m[0]),
    ):  # fmt: skip
        meter = _BillMeter(serial, _as_date(installed), _as_date(removed),
                           Decimal(initial).quantize(LITRE))  # fmt: skip
        meters[pk] = meter
        by_pk[account_id].meters.append(meter)
    for meter_id, read_on, pk, value in _select_in(
        MeterReading, "meter_id, read_on, id, value", "meter_id", list(meters), "NOT flagged"
    ):
        meters[meter_id].readings.append((_as_date(read_on), pk, Decimal(value).quantize(LITRE)))
    for meter in meters.values():
        meter.readings.sort()
    return accounts


def _payment(row: dict[str, str], total: Decimal) -> tuple[Decimal, str]:
    """The row's `paid` amount (0 for none), checked as `services.payment_record` checks
    a payment on the new bill, and the bill's status after it."""
    status = BillStatus.UNPAID.value if total > 0 else BillStatus.PAID.value
    paid = _decimal(row, "paid") if (row.get("paid") or "").strip() else ZERO_MONEY
    if paid:
        if paid <= 0 or paid != paid.quantize(billing.CENT):
            raise ValidationError(_("A payment is a positive amount in yuan and fen."))
        owed = max(total - ZERO_MONEY, ZERO_MONEY)
        if paid > owed:
            raise ValidationError(
                _("%(a)s is more than the %(o)s still owed on this bill.") % {"a": paid, "o": owed}
            )
        status = BillStatus.PAID.value if paid >= total else BillStatus.PARTIALLY_PAID.value
    return paid, str(status)


def _bulk_bills(chunk: Chunk, report: ImportReport, rules: _Rules) -> None:
    """Bills as `services.bill_issue` (and `payment_record` for `paid`) would issue them
    one by one, in file order: the chunk's accounts, their bills of the years concerned,
    meters and valid readings are fetched once; each bill issued joins its account's
    bills in memory, so the next one sees it (overlaps, annual tier volume)."""
    accounts = _accounts(chunk)
    now = clock.now()
    due_days = dt.timedelta(days=services.BILL_DUE_DAYS)
    bills: list[tuple[Any, ...]] = []
    lines: list[list[billing.Line]] = []
    payments: list[tuple[int, Decimal, dt.datetime]] = []

    def build(row: dict[str, str]) -> None:
        number = row["account"].strip()
        account = accounts.get(number)
        if account is None:
            raise RowProblem("account", _("no account %(n)r") % {"n": number})
        start = _date(row, "period_start")
        end = _date(row, "period_end")
        # `services.bill_issue`, in the same order.
        if end < start:
            raise ValidationError(_("The period ends before it starts."))
        if any(s <= end and e >= start for s, e, _v in account.bills):
            raise ValidationError(
                _("Account %(n)s already has a bill for part of this period.") % {"n": number}
            )
        periods = [meter.period(start, end) for meter in account.meters]
        spans, previous, current = services.meter_spans_of(number, periods, start, end)
        computed = rules.bill(
            tariff_id=account.tariff_id,
            household=account.household,
            start=start,
            end=end,
            spans=spans,
            annual=services.annual_volume_of(account.bills, start),
        )
        total = computed.total
        if (row.get("total") or "").strip():
            expected = _decimal(row, "total")
            if expected != total:
                raise RowProblem(
                    "total",
                    _("the tariff gives %(t)s, the file says %(e)s") % {"t": total, "e": expected},
                )
        paid, status = _payment(row, total)
        if paid:
            payments.append((len(bills), paid, clock.ensure_aware(now)))
        account.bills.append((start, end, computed.volume))
        bills.append((account.pk, start, end, previous, current, computed.volume,
                      computed.water_amount, computed.sewage_amount, total,
                      computed.tier_reached, end + due_days, str(status), now))  # fmt: skip
        lines.append(computed.lines)

    _checked("bills", chunk, report, build)
    if bills:
        services.bills_import(
            actor=system("import"),
            columns=BILL_COLUMNS,
            bills=bills,
            lines=lines,
            payments=payments,
        )
