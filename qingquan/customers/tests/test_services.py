"""The services: readings, bills from the database, payments, invoices, paper copies."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError

from qingquan.core.actors import SYSTEM
from qingquan.core.models import AuditEvent
from qingquan.customers import services
from qingquan.customers.models import (
    Account,
    AccountKind,
    Bill,
    BillStatus,
    Customer,
    CustomerKind,
    MeterReading,
    PaperInvoiceStatus,
    Payment,
    PaymentChannel,
)
from qingquan.customers.tests import factories as f

pytestmark = pytest.mark.django_db

JAN = (dt.date(2023, 1, 1), dt.date(2023, 1, 31))
FEB = (dt.date(2023, 2, 1), dt.date(2023, 2, 28))


def issue(acc: Account, period: tuple[dt.date, dt.date]) -> Bill:
    return services.bill_issue(
        actor=SYSTEM, account=acc, period_start=period[0], period_end=period[1]
    )


def test_customer_with_bad_uscc_writes_nothing() -> None:
    with pytest.raises(ValidationError):
        services.customer_create(
            actor=SYSTEM, kind=CustomerKind.ORGANISATION, name="宁波某厂", uscc="91330200XXXX"
        )
    assert not Customer.objects.exists()


def test_customer_create_audits_and_normalises_phones() -> None:
    cust = f.customer(phones=("138 0000 5678", "0574-87654321"))
    assert [p.number for p in cust.phones.all()] == ["+8613800005678", "+8657487654321"]
    assert cust.phones.get(is_primary=True).national_digits == "13800005678"
    assert AuditEvent.objects.filter(action="customers.customer.create").count() == 1
    assert AuditEvent.objects.filter(action="customers.phone.add").count() == 2
    with pytest.raises(ValidationError, match="already has"):
        services.phone_add(actor=SYSTEM, customer=cust, number="+86 13800005678")
    services.phone_remove(actor=SYSTEM, phone=cust.phones.get(national_digits="057487654321"))
    assert cust.phones.count() == 1


def test_customer_update_records_before_and_after() -> None:
    cust = f.customer()
    services.customer_update(actor=SYSTEM, customer=cust, elderly_or_impaired=True)
    event = AuditEvent.objects.get(action="customers.customer.update")
    assert event.before == {**(event.before or {}), "elderly_or_impaired": False}
    assert event.after == {**(event.after or {}), "elderly_or_impaired": True}


def test_premise_address_is_composed_from_its_parts() -> None:
    premise = f.premise(road="中山西路8号", building="5", unit="1", room="302")
    assert premise.address.startswith("宁波市海曙区")
    assert premise.address.endswith("中山西路8号5幢1单元302室")


def test_reading_lower_than_previous_is_kept_flagged_and_raises() -> None:
    acc = f.account()
    f.read(acc, dt.date(2023, 1, 31), "20")
    with pytest.raises(services.ReadingFlagged, match="lower than the previous reading 20"):
        f.read(acc, dt.date(2023, 2, 28), "18")
    flagged = MeterReading.objects.get(value=D("18"))
    assert flagged.flagged
    assert "lower" in flagged.flag_reason
    assert AuditEvent.objects.filter(action="customers.reading.flag").exists()
    # The bill ignores the flagged reading instead of billing a negative volume.
    with pytest.raises(ValidationError, match="no valid reading"):
        issue(acc, FEB)


def test_absurdly_high_reading_is_flagged() -> None:
    acc = f.account()
    f.read(acc, dt.date(2023, 3, 1), "18")  # 0.3 m³ a day for two months
    with pytest.raises(services.ReadingFlagged, match="over ten times"):
        f.read(acc, dt.date(2023, 4, 1), "400")
    with pytest.raises(services.ReadingFlagged, match="more than a 15 mm meter"):
        f.read(acc, dt.date(2023, 3, 2), "118")


def test_impossible_readings_are_refused_and_not_kept() -> None:
    acc = f.account()
    with pytest.raises(ValidationError, match="negative"):
        f.read(acc, dt.date(2023, 3, 1), "-1")
    with pytest.raises(ValidationError, match="future"):
        f.read(acc, dt.date.today() + dt.timedelta(days=3), "10")
    with pytest.raises(ValidationError, match="not installed"):
        f.read(acc, dt.date(2022, 12, 1), "1")
    assert not MeterReading.objects.exists()


def test_bill_issue_prices_consecutive_months() -> None:
    acc = f.account()
    f.read(acc, dt.date(2023, 1, 31), "20")
    f.read(acc, dt.date(2023, 2, 28), "38")
    jan = issue(acc, JAN)
    feb = issue(acc, FEB)
    assert (jan.volume, jan.total, jan.status) == (D("20"), D("60.00"), BillStatus.UNPAID)
    assert (feb.previous_reading, feb.current_reading, feb.volume) == (D("20"), D("38"), D("18"))
    assert feb.total == D("54.00")
    assert feb.due_date == dt.date(2023, 3, 30)
    assert [ln.kind for ln in feb.lines.all()] == ["sewage", "water"]
    assert acc.balance() == D("114.00")
    with pytest.raises(ValidationError, match="already has a bill"):
        issue(acc, (dt.date(2023, 2, 15), dt.date(2023, 3, 15)))


def test_bill_counts_annual_volume_of_earlier_bills() -> None:
    acc = f.account()
    f.read(acc, dt.date(2023, 6, 30), "210")
    f.read(acc, dt.date(2023, 7, 31), "230")
    issue(acc, (dt.date(2023, 1, 1), dt.date(2023, 6, 30)))
    july = issue(acc, (dt.date(2023, 7, 1), dt.date(2023, 7, 31)))
    assert [(ln.tier, ln.volume) for ln in july.lines.filter(kind="water")] == [
        (1, D("6")),
        (2, D("14")),
    ]
    assert july.tier_reached == 2
    assert july.total == D("12.30") + D("43.12") + D("19.00")


def test_meter_replaced_mid_period_bills_both_meters() -> None:
    acc = f.account()
    f.read(acc, dt.date(2023, 1, 31), "20")
    old = f.meter_of(acc)
    new = services.meter_replace(
        actor=SYSTEM,
        meter=old,
        final_reading=D("25"),
        replaced_on=dt.date(2023, 2, 10),
        new_serial="NEW-1",
    )
    old.refresh_from_db()
    assert old.removed_on == dt.date(2023, 2, 10)
    services.reading_record(actor=SYSTEM, meter=new, read_on=dt.date(2023, 2, 28), value=D("12"))
    issue(acc, JAN)
    feb = issue(acc, FEB)
    assert feb.volume == D("17")  # (25 − 20) + (12 − 0)
    assert (feb.previous_reading, feb.current_reading) == (D("0"), D("12"))


def test_meter_replace_refuses_a_low_final_reading() -> None:
    acc = f.account()
    f.read(acc, dt.date(2023, 1, 31), "20")
    with pytest.raises(ValidationError, match="lower"):
        services.meter_replace(
            actor=SYSTEM,
            meter=f.meter_of(acc),
            final_reading=D("5"),
            replaced_on=dt.date(2023, 2, 10),
            new_serial="NEW-2",
        )
    assert f.meter_of(acc).removed_on is None


def _paid_bill(kind: str = CustomerKind.PERSON) -> Bill:
    cust = (
        f.customer()
        if kind == CustomerKind.PERSON
        else f.customer(name="宁波清泉机械有限公司", kind=kind, uscc="91110000600037341L")
    )
    acc = f.account(cust, kind=AccountKind.RESIDENTIAL)
    f.read(acc, dt.date(2023, 1, 31), "20")
    bill = issue(acc, JAN)
    services.payment_record(
        actor=SYSTEM, bill=bill, amount=bill.total, channel=PaymentChannel.WECHAT
    )
    bill.refresh_from_db()
    return bill


def test_payments_move_the_bill_status_and_reversals_add_rows() -> None:
    acc = f.account()
    f.read(acc, dt.date(2023, 1, 31), "20")
    bill = issue(acc, JAN)
    first = services.payment_record(
        actor=SYSTEM, bill=bill, amount=D("20.00"), channel=PaymentChannel.COUNTER, reference="A1"
    )
    bill.refresh_from_db()
    assert bill.status == BillStatus.PARTIALLY_PAID
    assert bill.outstanding == D("40.00")
    with pytest.raises(ValidationError, match=r"more than the 40\.00"):
        services.payment_record(actor=SYSTEM, bill=bill, amount=D("40.01"), channel="bank")
    with pytest.raises(ValidationError, match="positive"):
        services.payment_record(actor=SYSTEM, bill=bill, amount=D("-5"), channel="bank")
    with pytest.raises(ValidationError, match="already recorded"):
        services.payment_record(
            actor=SYSTEM, bill=bill, amount=D("1"), channel="counter", reference="A1"
        )
    services.payment_record(
        actor=SYSTEM, bill=bill, amount=D("40.00"), channel=PaymentChannel.ALIPAY
    )
    bill.refresh_from_db()
    assert bill.status == BillStatus.PAID
    reversal = services.payment_reverse(actor=SYSTEM, payment=first, reason="bounced")
    assert reversal.amount == D("-20.00")
    assert reversal.reverses == first
    bill.refresh_from_db()
    assert bill.status == BillStatus.PARTIALLY_PAID
    assert Payment.objects.count() == 3
    with pytest.raises(ValidationError, match="already reversed"):
        services.payment_reverse(actor=SYSTEM, payment=first, reason="again")
    with pytest.raises(ValidationError, match="cannot itself"):
        services.payment_reverse(actor=SYSTEM, payment=reversal, reason="undo")


def test_cancelled_bill_stops_counting() -> None:
    acc = f.account()
    f.read(acc, dt.date(2023, 1, 31), "20")
    bill = issue(acc, JAN)
    services.bill_cancel(actor=SYSTEM, bill=bill, reason="misread")
    assert acc.balance() == D("0")
    assert issue(acc, JAN).total == D("60.00")  # a cancelled bill leaves the period free


def test_invoice_only_for_paid_bills_and_once() -> None:
    bill = _paid_bill()
    invoice = services.invoice_issue(actor=SYSTEM, bill=bill)
    assert len(invoice.number) == 20
    assert invoice.number.isdigit()
    assert len(invoice.verification_code) == 20
    assert invoice.payer_name == "王小明"
    assert invoice.amount == D("60.00")
    with pytest.raises(ValidationError, match="already issued"):
        services.invoice_issue(actor=SYSTEM, bill=bill)
    with pytest.raises(ValidationError, match="voided"):
        services.payment_reverse(actor=SYSTEM, payment=bill.payments.get(), reason="refund")
    acc = f.account()
    f.read(acc, dt.date(2023, 1, 31), "20")
    with pytest.raises(ValidationError, match="paid bill"):
        services.invoice_issue(actor=SYSTEM, bill=issue(acc, JAN))


def test_paper_invoice_free_for_organisations_and_tracked() -> None:
    org_invoice = services.invoice_issue(actor=SYSTEM, bill=_paid_bill(CustomerKind.ORGANISATION))
    person_invoice = services.invoice_issue(actor=SYSTEM, bill=_paid_bill())
    org = services.paper_invoice_request(
        actor=SYSTEM,
        invoice=org_invoice,
        recipient="财务部",
        phone="0574-87654321",
        address="宁波市",
    )
    person = services.paper_invoice_request(
        actor=SYSTEM,
        invoice=person_invoice,
        recipient="王小明",
        phone="13800005678",
        address="宁波",
    )
    assert org.fee == D("0.00")
    assert person.fee == services.PAPER_INVOICE_FEE_PERSON
    with pytest.raises(ValidationError, match="tracking"):
        services.paper_invoice_advance(actor=SYSTEM, request=org)
    org = services.paper_invoice_advance(actor=SYSTEM, request=org, tracking_no="SF1234567890")
    assert org.status == PaperInvoiceStatus.DISPATCHED
    org = services.paper_invoice_advance(actor=SYSTEM, request=org)
    assert org.status == PaperInvoiceStatus.DELIVERED
    assert org.delivered_at is not None
    with pytest.raises(ValidationError, match="already delivered"):
        services.paper_invoice_advance(actor=SYSTEM, request=org)
