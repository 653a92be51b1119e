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


def _city_rows() -> dict[str, list[tuple[Any, ...]]]:
    """Every generated row without ids or creation stamps: what a seed determines."""
    from qingquan.customers.models import BillLine, CustomerPhone, Meter, Premise

    return {
        "customer": list(
            Customer.objects.order_by("pk").values_list(
                "kind", "name", "uscc", "id_number", "elderly_or_impaired", "sensitive",
                "critical_kind", "note", "legacy_ref",
            )
        ),
        "phone": list(
            CustomerPhone.objects.order_by("pk").values_list(
                "customer__accounts__number", "number", "national_digits", "label", "is_primary"
            )
        ),
        "premise": list(
            Premise.objects.order_by("pk").values_list(
                "district__name", "street__name", "community__name", "road", "building", "unit",
                "room", "address", "latitude", "longitude", "legacy_ref", "network_node",
            )
        ),
        "account": list(
            Account.objects.order_by("pk").values_list(
                "number", "kind", "tariff__code", "status", "household_size", "opened_on",
                "premise__address", "customer__name",
            )
        ),
        "meter": list(
            Meter.objects.order_by("pk").values_list(
                "account__number", "serial", "size_mm", "installed_on", "initial_reading",
                "removed_on",
            )
        ),
        "reading": list(
            MeterReading.objects.order_by("pk").values_list(
                "meter__serial", "read_on", "value", "source", "flagged", "flag_reason"
            )
        ),
        "bill": list(
            Bill.objects.order_by("pk").values_list(
                "account__number", "period_start", "period_end", "previous_reading",
                "current_reading", "volume", "water_amount", "sewage_amount", "total",
                "tier_reached", "due_date", "status",
            )
        ),
        "line": list(
            BillLine.objects.order_by("pk").values_list(
                "bill__account__number", "bill__period_start", "kind", "tier", "start", "end",
                "volume", "unit_price", "amount",
            )
        ),
        "payment": list(
            Payment.objects.order_by("pk").values_list(
                "bill__account__number", "bill__period_start", "amount", "channel", "paid_at",
                "reference", "reverses", "reason",
            )
        ),
    }  # fmt: skip


def test_generated_city_has_its_shape_and_is_deterministic() -> None:
    """The shape the benches and the city's checks rely on, row by row: one customer,
    premise, account and meter per account number (phones: one mobile, sometimes a home
    number); a remote reading at each month's end equal to that month's bill's current
    reading; bills due 30 days after the period, their lines summing to the total; one
    payment per paid bill with a total, of the total, referenced G<bill id>, between the
    period's end and today; and the same seed gives the same rows, whether a child
    process makes them or not."""
    from django.db import transaction

    from qingquan.customers.models import BillLine, CustomerPhone, Meter

    today = dt.date(2025, 3, 10)
    with transaction.atomic():
        generate_city(accounts=30, months=13, today=today, seed=7, batch_size=7, workers=0)
        first = _city_rows()
        transaction.set_rollback(True)
    generate_city(accounts=30, months=13, today=today, seed=7, batch_size=7, workers=1)
    assert _city_rows() == first
    counts = {key: len(rows) for key, rows in first.items()}
    assert counts["customer"] == counts["premise"] == counts["account"] == counts["meter"] == 30
    assert counts["reading"] == counts["bill"] == 30 * 13
    assert 30 <= counts["phone"] <= 60
    assert counts["bill"] <= counts["line"] <= 4 * counts["bill"]
    for account in Account.objects.select_related("customer", "premise"):
        meter = Meter.objects.get(account=account)
        assert meter.serial == f"NB{int(account.number) - 3_302_000_000:09d}"
        phones = CustomerPhone.objects.filter(customer=account.customer)
        assert phones.filter(is_primary=True, label="mobile").count() == 1
        readings = {r.read_on: r for r in MeterReading.objects.filter(meter=meter)}
        bills = list(account.bills.order_by("period_start"))
        assert [b.period_end for b in bills] == sorted(readings)
        previous = meter.initial_reading
        for bill in bills:
            reading = readings[bill.period_end]
            assert (reading.source, reading.value) == ("remote", bill.current_reading)
            assert bill.previous_reading == previous
            previous = bill.current_reading
            assert bill.due_date == bill.period_end + dt.timedelta(days=30)
            lines = list(BillLine.objects.filter(bill=bill))
            assert sum((ln.amount for ln in lines), D(0)) == bill.total
            assert (len(lines) > 0) == (bill.volume > 0)
            payments = list(bill.payments.all())
            if bill.status == BillStatus.PAID and bill.total:
                [payment] = payments
                assert payment.amount == bill.total
                assert payment.reference == f"G{bill.pk}"
                assert bill.period_end < payment.paid_at.date() <= today
            else:
                assert payments == []
                assert bill.status == (BillStatus.UNPAID if bill.total else BillStatus.PAID)


def test_a_failing_generating_process_fails_the_run(monkeypatch: Any) -> None:
    """The child's error reaches the caller (no hang, no half batch written)."""
    from qingquan.customers.generator import pipeline

    def broken(**kwargs: Any) -> Any:
        raise ValueError("no rows today")

    monkeypatch.setattr(pipeline, "_rows", broken)
    with pytest.raises(RuntimeError, match="no rows today"):
        generate_city(accounts=5, months=2, workers=1)
    assert Account.objects.count() == 0
