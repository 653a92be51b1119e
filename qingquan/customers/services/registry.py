"""The customer registry: customers and their phone numbers, premises, accounts (户号) and
meters, each write audited. Bad input raises ValidationError with a message for a person.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from qingquan.core import clock
from qingquan.core.audit import audit_record, snapshot
from qingquan.customers import phones
from qingquan.customers.models import (
    Account,
    AccountKind,
    Customer,
    CustomerKind,
    CustomerPhone,
    Meter,
    PhoneLabel,
    Premise,
    ReadingSource,
    Tariff,
)
from qingquan.customers.services.readings import _reading_checked

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


def default_label(number: str, customer: Customer | None = None) -> str:
    """The label a phone number gets when nobody chose one: landlines are never "mobile"."""
    if phones.is_mobile(number):
        return PhoneLabel.MOBILE
    if customer is not None and customer.kind == CustomerKind.ORGANISATION:
        return PhoneLabel.WORK
    return PhoneLabel.HOME


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
