"""Test factories for the customer registry; records are made through the services."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

from qingquan.areas.models import District
from qingquan.areas.services import areas_seed_ningbo
from qingquan.core.actors import SYSTEM
from qingquan.customers import services
from qingquan.customers.models import Account, AccountKind, Customer, Meter, Premise
from qingquan.customers.tariffs import tariffs_seed

_serial = itertools.count(1)


def premise(**kwargs: Any) -> Premise:
    if not District.objects.exists():
        areas_seed_ningbo()
    district = kwargs.pop("district", None) or District.objects.get(name="海曙区")
    street = district.streets.order_by("name").first()
    community = street.communities.order_by("name").first() if street else None
    params: dict[str, Any] = {
        "district": district,
        "street": street,
        "community": community,
        "road": "解放南路12号",
        "building": "3",
        "unit": "2",
        "room": f"{next(_serial):04d}",
        "latitude": 29.86,
        "longitude": 121.55,
    }
    params.update(kwargs)
    return services.premise_create(actor=SYSTEM, **params)


def customer(
    name: str = "王小明", phones: tuple[str, ...] = ("13800005678",), **kwargs: Any
) -> Customer:
    return services.customer_create(actor=SYSTEM, name=name, phone_numbers=phones, **kwargs)


def account(
    cust: Customer | None = None,
    kind: str = AccountKind.RESIDENTIAL,
    household_size: int = 3,
    meter_on: dt.date = dt.date(2023, 1, 1),
    **kwargs: Any,
) -> Account:
    tariffs = tariffs_seed()
    code = {"residential": "residential", "non_residential": "non-residential"}.get(kind, kind)
    acc = services.account_create(
        actor=SYSTEM,
        number=kwargs.pop("number", f"{3302000000 + next(_serial)}"),
        customer=cust or customer(),
        premise=kwargs.pop("premise", None) or premise(**kwargs),
        tariff=tariffs[code],
        kind=kind,
        household_size=household_size,
        opened_on=meter_on,
    )
    services.meter_create(
        actor=SYSTEM, account=acc, serial=f"M{next(_serial):08d}", installed_on=meter_on
    )
    return acc


def meter_of(acc: Account) -> Meter:
    return acc.meters.installed().get()


def read(acc: Account, day: dt.date, value: str | Decimal) -> Any:
    return services.reading_record(
        actor=SYSTEM, meter=meter_of(acc), read_on=day, value=Decimal(value)
    )
