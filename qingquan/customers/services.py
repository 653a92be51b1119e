"""Every write to the customer registry and the bills, each one audited.

Views, the API, the admin and the importers call these; nothing else saves these models.
Bad input raises django.core.exceptions.ValidationError with a message for a person.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from qingquan.core import clock
from qingquan.core.audit import audit_record, snapshot
from qingquan.customers import billing, import_bulk, phones
from qingquan.customers.models import (
    Account,
    AccountKind,
    Bill,
    BillLine,
    BillStatus,
    Customer,
    CustomerKind,
    CustomerPhone,
    Invoice,
    Meter,
    MeterReading,
    PaperInvoiceRequest,
    PaperInvoiceStatus,
    Payment,
    PaymentChannel,
    PhoneLabel,
    Premise,
    ReadingSource,
    Tariff,
)

BILL_DUE_DAYS = 30
# Couriered paper invoices are free for organisations (R-CH-3); persons pay the postage.
PAPER_INVOICE_FEE_PERSON = Decimal("10.00")
# A reading is "absurd" when its daily use is this many times the meter's history…
ABSURD_FACTOR = Decimal(10)
# …and above this floor, so a near-empty flat that has a guest is not flagged.
ABSURD_FLOOR_M3_PER_DAY = Decimal(2)
# Permanent flow Q3 (m³/h) by meter size (GB/T 778.1): more per day is physically impossible.
Q3_BY_SIZE_MM = {15: 2.5, 20: 4, 25: 6.3, 32: 10, 40: 16, 50: 25, 80: 63, 100: 100, 150: 250}

CUSTOMER_FIELDS = [
    "kind",
    "name",
    "uscc",
    "id_number",
    "elderly_or_impaired",
    "sensitive",
    "note",
    "legacy_ref",
]
PREMISE_FIELDS = [
    "district",
    "street",
    "community",
    "road",
    "building",
    "unit",
    "room",
    "latitude",
    "longitude",
    "network_node",
    "legacy_ref",
]
ACCOUNT_FIELDS = ["number", "customer", "premise", "kind", "tariff", "status", "household_size"]
METER_FIELDS = ["account", "serial", "size_mm", "installed_on", "initial_reading", "removed_on"]


def _changes(obj: Any, fields: Iterable[str], changes: dict[str, Any]) -> None:
    unknown = set(changes) - set(fields)
    if unknown:
        raise TypeError(f"cannot change {sorted(unknown)}")
    for name, value in changes.items():
        setattr(obj, name, value)


def _save_clean(obj: Any, unique_message: str = "") -> None:
    obj.full_clean()
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError as exc:  # a concurrent writer won a unique race after full_clean
        raise ValidationError(unique_message or _("This record already exists.")) from exc


# Bulk import -----------------------------------------------------------------------------
@transaction.atomic
def registry_rows_import(
    *,
    actor: Any,
    model: type[Any],
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    phones: Sequence[tuple[int, str, str, bool]] = (),
) -> list[int]:
    """Write new rows of one registry table (customers with their phones, premises,
    accounts, meters, readings) in one bulk write, with one audit event listing them.

    For the CSV importer, which has checked every row by its model's rules and looked up
    references and duplicates for the chunk: `rows` are values of `columns` (attnames, no
    "id"); `phones` are (index of the customer's row, E.164, national digits, primary).
    Ids come from `import_bulk.take_ids`, safe while the platform is live. Audit: one
    "customers.<model>.import" event per call, with the count and ids; returns the ids.
    """
    if not rows:
        return []
    ids = import_bulk.take_ids(model, len(rows))
    import_bulk.insert_rows(
        model, ["id", *columns], [(pk, *row) for pk, row in zip(ids, rows, strict=True)]
    )
    if phones:
        phone_ids = import_bulk.take_ids(CustomerPhone, len(phones))
        import_bulk.insert_rows(
            CustomerPhone,
            ["id", "customer_id", "number", "national_digits", "label", "is_primary"],
            [
                (pk, ids[index], number, digits, str(default_label(number)), primary)
                for pk, (index, number, digits, primary) in zip(phone_ids, phones, strict=True)
            ],
        )
    first = model(id=ids[0], **dict(zip(columns, rows[0], strict=True)))
    audit_record(
        actor=actor,
        action=f"customers.{model._meta.model_name}.import",
        obj=first,
        after={"count": len(rows), "ids": ids, "phones": len(phones)},
        note="CSV import",
    )
    return ids


@transaction.atomic
def bills_import(
    *,
    actor: Any,
    columns: Sequence[str],
    bills: Sequence[tuple[Any, ...]],
    lines: Sequence[Sequence[billing.Line]],
    payments: Sequence[tuple[int, Decimal, dt.datetime]] = (),
) -> list[int]:
    """Write imported bills (values of `columns`) with their lines, and the payments made
    on them ((index of the bill, amount, paid at), referenced IMPORT-<bill id> on the bank
    channel, as `payment_record` would), one bulk write per table.

    For the CSV importer, which priced each bill with `billing.bill_compute` from the same
    inputs `bill_issue` gathers. Audit: one "customers.bill.import" event per call (count and
    ids) and one "customers.payment.import" event when there are payments; returns the ids.
    """
    ids = registry_rows_import(actor=actor, model=Bill, columns=columns, rows=bills)
    flat = [(ids[i], ln) for i, bill_lines in enumerate(lines) for ln in bill_lines]
    line_ids = import_bulk.take_ids(BillLine, len(flat))
    import_bulk.insert_rows(
        BillLine,
        ["id", "bill_id", "kind", "tier", "start", "end", "volume", "unit_price", "amount"],
        [
            (pk, bill, ln.kind, ln.tier, ln.start, ln.end, ln.volume, ln.unit_price, ln.amount)
            for pk, (bill, ln) in zip(line_ids, flat, strict=True)
        ],
    )
    if payments:
        rows = [
            (ids[i], amount, PaymentChannel.BANK.value, paid_at, f"IMPORT-{ids[i]}")
            for i, amount, paid_at in payments
        ]
        registry_rows_import(
            actor=actor,
            model=Payment,
            columns=["bill_id", "amount", "channel", "paid_at", "reference"],
            rows=rows,
        )
    return ids


def default_label(number: str, customer: Customer | None = None) -> str:
    """The label a phone number gets when nobody chose one: landlines are never "mobile"."""
    if phones.is_mobile(number):
        return PhoneLabel.MOBILE
    if customer is not None and customer.kind == CustomerKind.ORGANISATION:
        return PhoneLabel.WORK
    return PhoneLabel.HOME


# Customers -------------------------------------------------------------------------------
@transaction.atomic
def customer_create(
    *,
    actor: Any,
    kind: str = CustomerKind.PERSON,
    name: str,
    uscc: str = "",
    id_number: str = "",
    elderly_or_impaired: bool = False,
    sensitive: bool = False,
    note: str = "",
    legacy_ref: str = "",
    phone_numbers: Iterable[str] = (),
) -> Customer:
    """Register a customer, with their phone numbers (the first one is primary)."""
    now = clock.now()
    customer = Customer(
        kind=kind,
        name=name,
        uscc=(uscc or "").strip(),
        id_number=(id_number or "").strip(),
        elderly_or_impaired=elderly_or_impaired,
        sensitive=sensitive,
        note=note,
        legacy_ref=legacy_ref,
        created_at=now,
        updated_at=now,
    )
    _save_clean(customer)
    audit_record(
        actor=actor,
        action="customers.customer.create",
        obj=customer,
        after=snapshot(customer, CUSTOMER_FIELDS),
    )
    for index, number in enumerate(phone_numbers):
        phone_add(actor=actor, customer=customer, number=number, is_primary=index == 0)
    return customer


@transaction.atomic
def customer_update(*, actor: Any, customer: Customer, **changes: Any) -> Customer:
    """Change a customer's details (any of CUSTOMER_FIELDS)."""
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    before = snapshot(customer, CUSTOMER_FIELDS)
    _changes(customer, CUSTOMER_FIELDS, changes)
    customer.updated_at = clock.now()
    _save_clean(customer)
    after = snapshot(customer, CUSTOMER_FIELDS)
    if after != before:
        audit_record(
            actor=actor,
            action="customers.customer.update",
            obj=customer,
            before=before,
            after=after,
        )
    return customer


@transaction.atomic
def phone_add(
    *,
    actor: Any,
    customer: Customer,
    number: str,
    label: str = "",
    is_primary: bool = False,
) -> CustomerPhone:
    """Add a phone number to a customer, normalised; refuses a number they already have.

    Without a label, the number says it: a mobile number is "mobile", a landline is a
    home phone (a work phone for an organisation)."""
    label = label or default_label(number, customer)
    phone = CustomerPhone(customer=customer, number=number, label=label, is_primary=is_primary)
    phone.clean()
    if CustomerPhone.objects.filter(customer=customer, number=phone.number).exists():
        raise ValidationError(
            {"number": _("This customer already has the number %(n)s.") % {"n": phone.number}}
        )
    if is_primary:
        customer.phones.filter(is_primary=True).update(is_primary=False)
    _save_clean(phone)
    audit_record(
        actor=actor,
        action="customers.phone.add",
        obj=customer,
        after={"number": phone.number, "label": label, "is_primary": is_primary},
    )
    return phone


@transaction.atomic
def phone_remove(*, actor: Any, phone: CustomerPhone) -> None:
    """Remove a phone number from its customer (kept in the audit log)."""
    customer = phone.customer
    audit_record(
        actor=actor,
        action="customers.phone.remove",
        obj=customer,
        before={"number": phone.number, "label": phone.label, "is_primary": phone.is_primary},
    )
    phone.delete()


# Premises, accounts, meters --------------------------------------------------------------
@transaction.atomic
def premise_create(*, actor: Any, **fields: Any) -> Premise:
    """Record a premise (any of PREMISE_FIELDS; `district` is required)."""
    premise = Premise()
    _changes(premise, PREMISE_FIELDS, fields)
    _save_clean(premise)
    audit_record(
        actor=actor,
        action="customers.premise.create",
        obj=premise,
        after={**snapshot(premise, PREMISE_FIELDS), "address": premise.address},
    )
    return premise


@transaction.atomic
def premise_update(*, actor: Any, premise: Premise, **changes: Any) -> Premise:
    """Change a premise's address parts or position; the full address follows."""
    premise = Premise.objects.select_for_update().get(pk=premise.pk)
    before = {**snapshot(premise, PREMISE_FIELDS), "address": premise.address}
    _changes(premise, PREMISE_FIELDS, changes)
    _save_clean(premise)
    after = {**snapshot(premise, PREMISE_FIELDS), "address": premise.address}
    if after != before:
        audit_record(
            actor=actor, action="customers.premise.update", obj=premise, before=before, after=after
        )
    return premise


@transaction.atomic
def account_create(
    *,
    actor: Any,
    number: str,
    customer: Customer,
    premise: Premise,
    tariff: Tariff,
    kind: str = AccountKind.RESIDENTIAL,
    household_size: int = 3,
    opened_on: dt.date | None = None,
) -> Account:
    """Open a supply account (户号) for a customer at a premise."""
    account = Account(
        number=number,
        customer=customer,
        premise=premise,
        tariff=tariff,
        kind=kind,
        household_size=household_size,
        opened_on=opened_on or clock.today(),
    )
    _save_clean(account, _("Account number %(n)s is taken.") % {"n": number})
    audit_record(
        actor=actor,
        action="customers.account.create",
        obj=account,
        after=snapshot(account, [*ACCOUNT_FIELDS, "opened_on"]),
    )
    return account


@transaction.atomic
def account_update(*, actor: Any, account: Account, **changes: Any) -> Account:
    """Change an account (tariff, household size, status…); the number stays the same."""
    if "number" in changes and changes["number"] != account.number:
        raise ValidationError({"number": _("An account number never changes.")})
    account = Account.objects.select_for_update().get(pk=account.pk)
    before = snapshot(account, ACCOUNT_FIELDS)
    _changes(account, ACCOUNT_FIELDS, changes)
    _save_clean(account)
    after = snapshot(account, ACCOUNT_FIELDS)
    if after != before:
        audit_record(
            actor=actor, action="customers.account.update", obj=account, before=before, after=after
        )
    return account


@transaction.atomic
def meter_create(
    *,
    actor: Any,
    account: Account,
    serial: str,
    installed_on: dt.date,
    size_mm: int = 15,
    initial_reading: Decimal = Decimal("0.000"),
) -> Meter:
    """Install a meter on an account that has none installed."""
    if account.meters.installed().exists():
        raise ValidationError(
            _("Account %(n)s already has a meter installed; replace it instead.")
            % {"n": account.number}
        )
    meter = Meter(
        account=account,
        serial=serial.strip(),
        size_mm=size_mm,
        installed_on=installed_on,
        initial_reading=Decimal(initial_reading),
    )
    _save_clean(meter, _("Meter %(s)s already exists.") % {"s": serial})
    audit_record(
        actor=actor,
        action="customers.meter.create",
        obj=meter,
        after=snapshot(meter, METER_FIELDS),
    )
    return meter


@transaction.atomic
def meter_replace(
    *,
    actor: Any,
    meter: Meter,
    final_reading: Decimal,
    replaced_on: dt.date,
    new_serial: str,
    new_size_mm: int | None = None,
    new_initial_reading: Decimal = Decimal("0.000"),
) -> Meter:
    """Remove `meter` with its final reading and install a new one the same day.

    The final reading is checked like any reading; a suspicious one stops the replacement.
    """
    meter = Meter.objects.select_for_update().get(pk=meter.pk)
    if meter.removed_on is not None:
        raise ValidationError(_("Meter %(s)s was already removed.") % {"s": meter.serial})
    reading = _reading_checked(
        meter=meter, read_on=replaced_on, value=Decimal(final_reading), source=ReadingSource.FINAL
    )
    if reading.flagged:
        raise ValidationError(reading.flag_reason)
    reading.save()
    meter.removed_on = replaced_on
    _save_clean(meter)
    audit_record(
        actor=actor,
        action="customers.meter.remove",
        obj=meter,
        after={"removed_on": replaced_on, "final_reading": reading.value},
    )
    return meter_create(
        actor=actor,
        account=meter.account,
        serial=new_serial,
        installed_on=replaced_on,
        size_mm=new_size_mm or meter.size_mm,
        initial_reading=new_initial_reading,
    )


# Readings --------------------------------------------------------------------------------
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


# Bills -----------------------------------------------------------------------------------
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


def meter_spans(
    account: Account, start: dt.date, end: dt.date
) -> tuple[list[billing.MeterSpan], Decimal, Decimal]:
    """What each meter of the account measured from `start` to `end`, and the previous and
    current readings of the meter in place at the end. Flagged readings are ignored."""
    spans: list[billing.MeterSpan] = []
    previous = current = Decimal("0.000")
    meters = list(account.meters.active_between(start, end).order_by("installed_on", "pk"))
    if not meters:
        raise ValidationError(
            _("Account %(n)s had no meter in this period.") % {"n": account.number}
        )
    for meter in meters:
        valid = meter.readings.valid()
        prior = valid.filter(read_on__lt=start).order_by("-read_on", "-pk").first()
        if prior is not None and meter.installed_on < start:
            start_value = prior.value
        else:
            start_value = meter.initial_reading
        last = valid.filter(read_on__gte=start, read_on__lte=end).order_by("-read_on", "-pk")
        last_reading = last.first()
        if last_reading is None:
            raise ValidationError(
                _("Meter %(s)s has no valid reading between %(a)s and %(b)s.")
                % {"s": meter.serial, "a": start, "b": end}
            )
        spans.append(billing.MeterSpan(meter.serial, start_value, last_reading.value))
        previous, current = start_value, last_reading.value
    return spans, previous, current


def annual_volume_before(
    account: Account, start: dt.date, bills: Iterable[Bill] | None = None
) -> Decimal:
    """The m³ already billed to the account in `start`'s calendar year, before `start`.

    A bill straddling New Year counts for its days inside the year. `bills` may give the
    account's bills already fetched (the customer page has them) to save a query.
    """
    year_start = dt.date(start.year, 1, 1)
    if bills is None:
        bills = (
            account.bills.not_cancelled()
            .filter(period_end__gte=year_start, period_start__lt=start)
            .only("period_start", "period_end", "volume", "status")
        )
    total = Decimal("0.000")
    for bill in bills:
        if (
            bill.status == BillStatus.CANCELLED
            or bill.period_end < year_start
            or bill.period_start >= start
        ):
            continue
        days = (bill.period_end - bill.period_start).days + 1
        last = min(bill.period_end, start - dt.timedelta(days=1))
        inside = (last - max(bill.period_start, year_start)).days + 1
        total += bill.volume if inside >= days else bill.volume * inside / days
    return total.quantize(Decimal("0.001"))


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


def _refresh_status(bill: Bill) -> None:
    status = bill.status_for(bill.paid)
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
    if amount > bill.outstanding:
        raise ValidationError(
            _("%(a)s is more than the %(o)s still owed on this bill.")
            % {"a": amount, "o": bill.outstanding}
        )
    if reference and Payment.objects.filter(channel=channel, reference=reference).exists():
        raise ValidationError(_("Payment %(r)s was already recorded.") % {"r": reference})
    payment = Payment.objects.create(
        bill=bill,
        amount=amount,
        channel=channel,
        paid_at=clock.ensure_aware(paid_at or clock.now()),
        reference=reference,
    )
    _refresh_status(bill)
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


# Invoices --------------------------------------------------------------------------------
def _verification_code(number: str) -> str:
    """20 digits derived from the number with the site's secret: checkable, not guessable."""
    digest = hmac.new(settings.SECRET_KEY.encode(), number.encode(), hashlib.sha256).hexdigest()
    return str(int(digest, 16))[-20:]


@transaction.atomic
def invoice_issue(*, actor: Any, bill: Bill) -> Invoice:
    """Issue the electronic invoice (电子发票) of a paid bill; one per bill."""
    bill = Bill.objects.select_for_update().select_related("account__customer").get(pk=bill.pk)
    if bill.status != BillStatus.PAID:
        raise ValidationError(_("Only a paid bill gets an invoice."))
    if bill.total <= 0:
        raise ValidationError(_("A bill of zero needs no invoice."))
    existing = Invoice.objects.filter(bill=bill).first()
    if existing is not None:
        raise ValidationError(_("Invoice %(n)s was already issued.") % {"n": existing.number})
    now = clock.now()
    # 20 digits like a fully digital invoice number: year, Ningbo's code, the bill's id.
    number = f"{clock.today():%y}330200{bill.pk:012d}"
    customer = bill.account.customer
    invoice = Invoice.objects.create(
        bill=bill,
        number=number,
        verification_code=_verification_code(number),
        payer_name=customer.name,
        payer_tax_id=customer.uscc,
        amount=bill.total,
        issued_at=now,
    )
    audit_record(
        actor=actor,
        action="customers.invoice.issue",
        obj=invoice,
        after=snapshot(invoice, ["bill", "number", "payer_name", "amount"]),
    )
    return invoice


@transaction.atomic
def paper_invoice_request(
    *, actor: Any, invoice: Invoice, recipient: str, phone: str, address: str
) -> PaperInvoiceRequest:
    """Ask for a paper copy by courier; free for organisations, postage for persons."""
    if not recipient.strip() or not address.strip():
        raise ValidationError(_("A courier needs a recipient and an address."))
    e164, _digits = phones.normalise(phone)
    customer = invoice.bill.account.customer
    request = PaperInvoiceRequest.objects.create(
        invoice=invoice,
        recipient=recipient.strip(),
        phone=e164,
        address=address.strip(),
        fee=Decimal("0.00") if customer.is_organisation else PAPER_INVOICE_FEE_PERSON,
        requested_at=clock.now(),
    )
    audit_record(
        actor=actor,
        action="customers.paper_invoice.request",
        obj=request,
        after=snapshot(request, ["invoice", "recipient", "address", "fee"]),
    )
    return request


_PAPER_NEXT = {
    PaperInvoiceStatus.REQUESTED: PaperInvoiceStatus.DISPATCHED,
    PaperInvoiceStatus.DISPATCHED: PaperInvoiceStatus.DELIVERED,
}


@transaction.atomic
def paper_invoice_advance(
    *, actor: Any, request: PaperInvoiceRequest, tracking_no: str = ""
) -> PaperInvoiceRequest:
    """Move a paper request on: requested → dispatched (needs the tracking number) →
    delivered."""
    request = PaperInvoiceRequest.objects.select_for_update().get(pk=request.pk)
    before = request.status
    target = _PAPER_NEXT.get(PaperInvoiceStatus(before))
    if target is None:
        raise ValidationError(_("The invoice was already delivered."))
    now = clock.now()
    if target == PaperInvoiceStatus.DISPATCHED:
        if not tracking_no.strip():
            raise ValidationError(_("A dispatched invoice needs its tracking number."))
        request.tracking_no = tracking_no.strip()
        request.dispatched_at = now
    else:
        request.delivered_at = now
    request.status = target
    request.save()
    audit_record(
        actor=actor,
        action="customers.paper_invoice.advance",
        obj=request,
        before={"status": before},
        after={"status": target, "tracking_no": request.tracking_no},
    )
    return request


def account_number_next() -> str:
    """A fresh 10-digit account number (for back-office creation without one)."""
    last = Account.objects.aggregate(m=Max("number"))["m"]
    base = int(last) if last and last.isdigit() else 3302000000
    return str(base + 1)
