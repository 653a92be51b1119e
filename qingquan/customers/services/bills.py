"""Bills and payments: what the meters measured in a period, the volume already billed
in the year, the price (`customers.billing`, pure), issuing, cancelling, paying and
reversing. `meter_spans_of` and `annual_volume_of` decide from data in memory (the CSV
import calls them on its chunk); `meter_spans` and `annual_volume_before` read an
account's meters, readings and bills and call them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils.translation import gettext as _

from qingquan.core import clock
from qingquan.core.audit import audit_record, snapshot
from qingquan.core.db import fastinsert
from qingquan.customers import billing
from qingquan.customers.models import (
    Account,
    Bill,
    BillLine,
    BillStatus,
    Invoice,
    Payment,
    PaymentChannel,
    Tariff,
)

BILL_DUE_DAYS = 30


def tier_prices(tariff: Tariff) -> list[billing.TierPrice]:
    """The tariff's tier rows in the form the computation takes."""
    return [
        billing.TierPrice(
            number=t.number,
            upper_m3=t.upper_m3,
            price=t.price,
            sewage_fee=t.sewage_fee,
            effective_from=t.effective_from,
            effective_to=t.effective_to,
            extra_per_person_m3=t.extra_per_person_m3,
            base_household_size=tariff.base_household_size,
        )
        for t in tariff.tiers.all()
    ]


@dataclass(frozen=True)
class MeterPeriod:
    """One meter of an account as a billing period sees it: its life, its initial value,
    and its last valid readings before the period and inside it (None for none)."""

    serial: str
    installed_on: dt.date
    removed_on: dt.date | None
    initial: Decimal
    before_start: Decimal | None
    last_in_period: Decimal | None


def meter_spans_of(
    number: str, meters: Iterable[MeterPeriod], start: dt.date, end: dt.date
) -> tuple[list[billing.MeterSpan], Decimal, Decimal]:
    """What each meter of account `number` in place from `start` to `end` measured (its
    meters in installation order), and the previous and current readings of the last
    one. Pure: `meter_spans` and the CSV import gather the meters."""
    spans: list[billing.MeterSpan] = []
    previous = current = Decimal("0.000")
    active = [
        m
        for m in meters
        if m.installed_on <= end and (m.removed_on is None or m.removed_on >= start)
    ]
    if not active:
        raise ValidationError(_("Account %(n)s had no meter in this period.") % {"n": number})
    for meter in active:
        if meter.before_start is not None and meter.installed_on < start:
            start_value = meter.before_start
        else:
            start_value = meter.initial
        if meter.last_in_period is None:
            raise ValidationError(
                _("Meter %(s)s has no valid reading between %(a)s and %(b)s.")
                % {"s": meter.serial, "a": start, "b": end}
            )
        spans.append(billing.MeterSpan(meter.serial, start_value, meter.last_in_period))
        previous, current = start_value, meter.last_in_period
    return spans, previous, current


def meter_spans(
    account: Account, start: dt.date, end: dt.date
) -> tuple[list[billing.MeterSpan], Decimal, Decimal]:
    """What each meter of the account measured from `start` to `end`, and the previous and
    current readings of the meter in place at the end. Flagged readings are ignored."""
    periods = []
    for meter in account.meters.active_between(start, end).order_by("installed_on", "pk"):
        valid = meter.readings.valid()
        prior = valid.filter(read_on__lt=start).order_by("-read_on", "-pk").first()
        last = (
            valid.filter(read_on__gte=start, read_on__lte=end).order_by("-read_on", "-pk").first()
        )
        periods.append(
            MeterPeriod(
                serial=meter.serial,
                installed_on=meter.installed_on,
                removed_on=meter.removed_on,
                initial=meter.initial_reading,
                before_start=prior.value if prior is not None else None,
                last_in_period=last.value if last is not None else None,
            )
        )
    return meter_spans_of(account.number, periods, start, end)


def annual_volume_of(bills: Iterable[tuple[dt.date, dt.date, Decimal]], start: dt.date) -> Decimal:
    """The m³ of `bills` (period start, period end, volume; none cancelled) billed in
    `start`'s calendar year before `start`. A bill straddling New Year counts for its days
    inside the year. Pure: `annual_volume_before` and the CSV import gather the bills."""
    year_start = dt.date(start.year, 1, 1)
    total = Decimal("0.000")
    for first, last_day, volume in bills:
        if last_day < year_start or first >= start:
            continue
        days = (last_day - first).days + 1
        last = min(last_day, start - dt.timedelta(days=1))
        inside = (last - max(first, year_start)).days + 1
        total += volume if inside >= days else volume * inside / days
    return total.quantize(Decimal("0.001"))


def annual_volume_before(
    account: Account, start: dt.date, bills: Iterable[Bill] | None = None
) -> Decimal:
    """The m³ already billed to the account in `start`'s calendar year, before `start`.

    A bill straddling New Year counts for its days inside the year. `bills` may give the
    account's bills already fetched (the customer page has them) to save a query.
    """
    if bills is None:
        bills = (
            account.bills.not_cancelled()
            .filter(period_end__gte=dt.date(start.year, 1, 1), period_start__lt=start)
            .only("period_start", "period_end", "volume", "status")
        )
    return annual_volume_of(
        (
            (bill.period_start, bill.period_end, bill.volume)
            for bill in bills
            if bill.status != BillStatus.CANCELLED
        ),
        start,
    )


def bill_preview(
    *, account: Account, period_start: dt.date, period_end: dt.date
) -> billing.Computation:
    """The bill the account would get for the period, without storing anything."""
    spans, _prev, _cur = meter_spans(account, period_start, period_end)
    try:
        return billing.bill_compute(
            period_start=period_start,
            period_end=period_end,
            spans=spans,
            tiers=tier_prices(account.tariff),
            household_size=account.household_size,
            annual_volume_before=annual_volume_before(account, period_start),
        )
    except billing.BillingError as exc:
        raise ValidationError(str(exc)) from exc


@transaction.atomic
def bill_issue(
    *,
    actor: Any,
    account: Account,
    period_start: dt.date,
    period_end: dt.date,
    due_date: dt.date | None = None,
) -> Bill:
    """Compute and issue the bill of an account for a period that no other bill covers."""
    account = Account.objects.select_for_update().select_related("tariff").get(pk=account.pk)
    if period_end < period_start:
        raise ValidationError(_("The period ends before it starts."))
    overlapping = account.bills.not_cancelled().filter(
        period_start__lte=period_end, period_end__gte=period_start
    )
    if overlapping.exists():
        raise ValidationError(
            _("Account %(n)s already has a bill for part of this period.") % {"n": account.number}
        )
    spans, previous, current = meter_spans(account, period_start, period_end)
    computed = bill_preview(account=account, period_start=period_start, period_end=period_end)
    bill = Bill.objects.create(
        account=account,
        period_start=period_start,
        period_end=period_end,
        previous_reading=previous,
        current_reading=current,
        volume=computed.volume,
        water_amount=computed.water_amount,
        sewage_amount=computed.sewage_amount,
        total=computed.total,
        tier_reached=computed.tier_reached,
        due_date=due_date or period_end + dt.timedelta(days=BILL_DUE_DAYS),
        status=BillStatus.UNPAID if computed.total > 0 else BillStatus.PAID,
        issued_at=clock.now(),
    )
    BillLine.objects.bulk_create(
        BillLine(
            bill=bill,
            kind=ln.kind,
            tier=ln.tier,
            start=ln.start,
            end=ln.end,
            volume=ln.volume,
            unit_price=ln.unit_price,
            amount=ln.amount,
        )
        for ln in computed.lines
    )
    audit_record(
        actor=actor,
        action="customers.bill.issue",
        obj=bill,
        after=snapshot(bill, ["account", "period_start", "period_end", "volume", "total"]),
        note=f"{len(spans)} meter(s)",
    )
    return bill


@transaction.atomic
def bill_cancel(*, actor: Any, bill: Bill, reason: str) -> Bill:
    """Cancel a bill nothing has been paid on (e.g. issued on a misread meter)."""
    bill = Bill.objects.select_for_update().get(pk=bill.pk)
    if not reason.strip():
        raise ValidationError(_("Say why the bill is cancelled."))
    if bill.status == BillStatus.CANCELLED:
        raise ValidationError(_("The bill is already cancelled."))
    if bill.paid != 0:
        raise ValidationError(_("Money was paid on this bill; reverse the payments first."))
    before = bill.status
    bill.status = BillStatus.CANCELLED
    bill.save(update_fields=["status"])
    audit_record(
        actor=actor,
        action="customers.bill.cancel",
        obj=bill,
        before={"status": before},
        after={"status": bill.status},
        note=reason,
    )
    return bill


def _refresh_status(bill: Bill, paid: Decimal | None = None) -> None:
    """The bill's status after its payments changed (`paid`: what is now paid on it, when
    the caller knows; else summed)."""
    status = bill.status_for(bill.paid if paid is None else paid)
    if status != bill.status:
        bill.status = status
        bill.save(update_fields=["status"])


@transaction.atomic
def payment_record(
    *,
    actor: Any,
    bill: Bill,
    amount: Decimal,
    channel: str,
    paid_at: dt.datetime | None = None,
    reference: str = "",
) -> Payment:
    """Record money received for a bill; the bill becomes partially paid or paid."""
    bill = Bill.objects.select_for_update().get(pk=bill.pk)
    amount = Decimal(amount)
    if amount <= 0 or amount != amount.quantize(billing.CENT):
        raise ValidationError(_("A payment is a positive amount in yuan and fen."))
    if channel not in PaymentChannel.values:
        raise ValidationError(_("Unknown payment channel “%(c)s”.") % {"c": channel})
    if bill.status == BillStatus.CANCELLED:
        raise ValidationError(_("The bill is cancelled."))
    paid = bill.paid  # summed once, under the bill's lock
    owed = max(bill.total - paid, Decimal("0.00"))
    if amount > owed:
        raise ValidationError(
            _("%(a)s is more than the %(o)s still owed on this bill.") % {"a": amount, "o": owed}
        )
    if reference and Payment.objects.filter(channel=channel, reference=reference).exists():
        raise ValidationError(_("Payment %(r)s was already recorded.") % {"r": reference})
    # Append-only and listened to by nobody: one precompiled INSERT (core.db.fastinsert).
    payment = cast(
        Payment,
        fastinsert.create(
            Payment(
                bill=bill,
                amount=amount,
                channel=channel,
                paid_at=clock.ensure_aware(paid_at or clock.now()),
                reference=reference,
            )
        ),
    )
    _refresh_status(bill, paid + amount)
    audit_record(
        actor=actor,
        action="customers.payment.record",
        obj=payment,
        after=snapshot(payment, ["bill", "amount", "channel", "paid_at", "reference"]),
    )
    return payment


@transaction.atomic
def payment_reverse(*, actor: Any, payment: Payment, reason: str) -> Payment:
    """Reverse a payment with a new, opposite row (a bounced bank debit, a refund)."""
    bill = Bill.objects.select_for_update().get(pk=payment.bill_id)
    payment = Payment.objects.get(pk=payment.pk)
    if not reason.strip():
        raise ValidationError(_("Say why the payment is reversed."))
    if payment.is_reversal:
        raise ValidationError(_("A reversal cannot itself be reversed."))
    if Payment.objects.filter(reverses=payment).exists():
        raise ValidationError(_("This payment was already reversed."))
    if Invoice.objects.filter(bill=bill).exists():
        raise ValidationError(
            _("An e-invoice was issued for this bill; it must be voided before a reversal.")
        )
    reversal = Payment.objects.create(
        bill=bill,
        amount=-payment.amount,
        channel=payment.channel,
        paid_at=clock.now(),
        reference=payment.reference,
        reverses=payment,
        reason=reason,
    )
    _refresh_status(bill)
    audit_record(
        actor=actor,
        action="customers.payment.reverse",
        obj=reversal,
        after={"reverses": payment.pk, "amount": reversal.amount},
        note=reason,
    )
    return reversal


@transaction.atomic
def payment_refund(*, actor: Any, payment: Payment, amount: Decimal, reason: str) -> Payment:
    """Give back part or all of a payment (an online refund the provider carried out):
    a new negative row with the payment's channel and reference; the bill follows."""
    bill = Bill.objects.select_for_update().get(pk=payment.bill_id)
    payment = Payment.objects.get(pk=payment.pk)
    amount = Decimal(amount)
    if not reason.strip():
        raise ValidationError(_("Say why the payment is refunded."))
    if payment.is_reversal or payment.amount <= 0:
        raise ValidationError(_("A reversal cannot itself be reversed."))
    given_back = -(
        Payment.objects.filter(
            bill=bill, channel=payment.channel, reference=payment.reference, amount__lt=0
        ).aggregate(s=models.Sum("amount"))["s"]
        or Decimal("0.00")
    )
    if amount <= 0 or amount != amount.quantize(billing.CENT):
        raise ValidationError(_("A payment is a positive amount in yuan and fen."))
    if amount > payment.amount - given_back:
        raise ValidationError(
            _("%(a)s is more than the %(o)s left of this payment.")
            % {"a": amount, "o": payment.amount - given_back}
        )
    refund = Payment.objects.create(
        bill=bill,
        amount=-amount,
        channel=payment.channel,
        paid_at=clock.now(),
        reference=payment.reference,
        reason=reason[:200],
    )
    _refresh_status(bill)
    audit_record(
        actor=actor,
        action="customers.payment.refund",
        obj=refund,
        after={"refunds": payment.pk, "amount": refund.amount},
        note=reason,
    )
    return refund
