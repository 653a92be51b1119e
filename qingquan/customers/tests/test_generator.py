"""The synthetic city and the demo: consistent bills, valid codes, findable customers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D
from typing import Any

import pytest
from django.core.management import call_command
from django.db.models import Sum

from qingquan.customers import selectors
from qingquan.customers.demo import DEMO_PHONE, seed_customers
from qingquan.customers.generator import generate_city
from qingquan.customers.models import (
    Account,
    Bill,
    BillStatus,
    Customer,
    CustomerKind,
    MeterReading,
    Payment,
)

from .test_identifiers import uscc_check_digit_ok

pytestmark = pytest.mark.django_db


def test_generated_city_is_consistent() -> None:
    result = generate_city(accounts=60, months=14, today=dt.date(2025, 3, 10), batch_size=25)
    assert result.bills == 60 * 14
    assert Account.objects.count() == 60
    assert MeterReading.objects.count() == 60 * 14
    for bill in Bill.objects.all()[:200]:
        assert bill.total == bill.lines.aggregate(s=Sum("amount"))["s"] or D(0)
        assert bill.volume == bill.current_reading - bill.previous_reading
        if bill.status == BillStatus.PAID and bill.total:
            assert bill.paid == bill.total
    for org in Customer.objects.filter(kind=CustomerKind.ORGANISATION):
        assert uscc_check_digit_ok(org.uscc), org.uscc
    assert Bill.objects.filter(status=BillStatus.UNPAID).exists()
    assert Payment.objects.filter(paid_at__date__gt=dt.date(2025, 3, 10)).count() == 0
    # Tiers count annual volume across the generated months.
    assert (
        Bill.objects.filter(tier_reached__gte=2).exists()
        or Account.objects.filter(household_size__lte=2).count() == 60
    )
    generate_city(accounts=5, months=2, today=dt.date(2025, 3, 10))  # continues numbering
    assert Account.objects.count() == 65


def test_generated_customers_are_found_by_phone(agent: Any) -> None:
    generate_city(accounts=10, months=3)
    phone = Customer.objects.first().phones.first()  # type: ignore[union-attr]
    assert phone is not None
    found = selectors.customer_lookup(user=agent, query=phone.national_digits)
    assert phone.customer_id in [c.id for c in found]


def test_seed_customers_adds_the_demo_household_once(agent: Any) -> None:
    assert seed_customers(count=20, months=14) == 21
    assert seed_customers(count=20, months=14) == 0
    [card] = selectors.customer_lookup(user=agent, query=DEMO_PHONE)
    assert card.name == "李桂英"
    assert card.balance > 0  # the leak month is unpaid
    assert len(card.accounts[0].bills) == 12


def test_generate_city_command(capsys: Any) -> None:
    call_command("generate_city", "--accounts", "12", "--months", "2")
    assert "12 accounts, 24 bills" in capsys.readouterr().out


def test_generated_bills_are_what_the_tier_computation_gives() -> None:
    from qingquan.customers import billing, phones
    from qingquan.customers.models import BillLine, CustomerPhone
    from qingquan.customers.services import tier_prices

    generate_city(accounts=40, months=14, today=dt.date(2025, 3, 10), batch_size=15)
    for account in Account.objects.select_related("tariff"):
        tiers = tier_prices(account.tariff)
        annual: dict[int, D] = {}
        for bill in account.bills.order_by("period_start"):
            computed = billing.bill_compute(
                period_start=bill.period_start,
                period_end=bill.period_end,
                spans=[billing.MeterSpan("m", bill.previous_reading, bill.current_reading)],
                tiers=tiers,
                household_size=account.household_size,
                annual_volume_before=annual.get(bill.period_start.year, D(0)),
            )
            annual[bill.period_start.year] = annual.get(bill.period_start.year, D(0)) + bill.volume
            assert (bill.total, bill.water_amount, bill.sewage_amount, bill.tier_reached) == (
                computed.total, computed.water_amount, computed.sewage_amount,
                computed.tier_reached,
            )  # fmt: skip
            lines = BillLine.objects.filter(bill=bill).order_by("pk")
            assert [(ln.kind, ln.tier, ln.start, ln.end, ln.volume, ln.amount) for ln in lines] == [
                (ln.kind, ln.tier, ln.start, ln.end, ln.volume, ln.amount) for ln in computed.lines
            ]
    for phone in CustomerPhone.objects.all():
        assert phones.normalise(phone.national_digits) == (phone.number, phone.national_digits)
