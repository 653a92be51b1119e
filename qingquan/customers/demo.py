"""Demo customers: a few thousand realistic accounts in Ningbo with two years of bills,
plus one well-known household to try the screen pop with (13800138000)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction

from qingquan.areas.models import District
from qingquan.core import clock
from qingquan.core.actors import system
from qingquan.customers import services
from qingquan.customers.generator import generate_city
from qingquan.customers.models import Customer
from qingquan.customers.tariffs import tariffs_seed

DEMO_PHONE = "13800138000"


@transaction.atomic
def seed_customers(*, count: int = 3000, months: int = 24) -> int:
    """Load `count` generated accounts and the demo household; returns accounts created.

    Idempotent: does nothing when the demo household is already there.
    """
    if Customer.objects.filter(phones__national_digits=DEMO_PHONE).exists():
        return 0
    result = generate_city(accounts=count, months=months)
    _demo_household(months=months)
    return result.accounts + 1


def _demo_household(*, months: int) -> None:
    """A household built through the services, with a meter replaced and a high bill."""
    district = District.objects.get(name="海曙区")
    street = district.streets.order_by("name").first()
    community = street.communities.order_by("name").first() if street else None
    customer = services.customer_create(
        actor=system("demo"),
        name="李桂英",
        elderly_or_impaired=True,
        phone_numbers=[DEMO_PHONE, "0574-87300000"],
    )
    premise = services.premise_create(
        actor=system("demo"),
        district=district,
        street=street,
        community=community,
        road="解放南路88号",
        building="7",
        unit="2",
        room="1201",
        latitude=29.8642,
        longitude=121.5497,
    )
    today = clock.today()
    first = (today.replace(day=1) - dt.timedelta(days=months * 31)).replace(day=1)
    account = services.account_create(
        actor=system("demo"),
        number="3301000001",
        customer=customer,
        premise=premise,
        tariff=tariffs_seed()["residential"],
        household_size=5,
        opened_on=first,
    )
    meter = services.meter_create(
        actor=system("demo"), account=account, serial="NB-DEMO-0001", installed_on=first
    )
    value = Decimal("0")
    start = first
    index = 0
    while True:
        end = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
        if end >= today:
            break
        # A leak in the last full month: the bill agents are asked about.
        last = (end + dt.timedelta(days=35)) >= today
        value += Decimal("48.500") if last else Decimal("11.000") + index % 4
        if index == months // 2:
            meter = services.meter_replace(
                actor=system("demo"),
                meter=meter,
                final_reading=value - 3,
                replaced_on=start + dt.timedelta(days=10),
                new_serial="NB-DEMO-0002",
            )
            value = Decimal("3")
        services.reading_record(actor=system("demo"), meter=meter, read_on=end, value=value)
        bill = services.bill_issue(
            actor=system("demo"), account=account, period_start=start, period_end=end
        )
        if not last:
            services.payment_record(
                actor=system("demo"),
                bill=bill,
                amount=bill.total,
                channel="wechat",
                reference=f"DEMO{index}",
            )
            if index % 6 == 0:
                services.invoice_issue(actor=system("demo"), bill=bill)
        start = end + dt.timedelta(days=1)
        index += 1
