"""Paper invoices by courier from the online hall (R-CH-3): asked for paid bills with a
delivery address, dispatched by the back office with the courier and tracking number,
followed by the resident; free for enterprises, and no fee is ever added to a bill or a
payment."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from qingquan.core.actors import SYSTEM
from qingquan.customers import services
from qingquan.customers.models import Bill, CustomerKind, Invoice, PaperInvoiceRequest, Payment
from qingquan.customers.tests import factories as f
from qingquan.payments.models import PaperDelivery
from qingquan.payments.tests.conftest import pay_through_sandbox, staff_client
from qingquan.portal.tests.conftest import portal_login

pytestmark = pytest.mark.django_db
URL = "/portal/paper-invoices/"


def _ask(client: Client, bills: list[Bill], **extra: str) -> Any:
    data = {"recipient": "周美华", "phone": "13566667777", "address": "海曙区药行街20号"}
    data.update(extra)
    return client.post(URL, {**data, "bill": [b.pk for b in bills]})


def test_household_asks_back_office_dispatches_resident_follows(
    bound: tuple[Client, Any], back_office: Any
) -> None:
    client, acc = bound
    bills = list(Bill.objects.filter(account=acc).order_by("pk"))
    assert 'data-testid="paper-none"' in client.get(URL).content.decode()
    # An unpaid bill is refused, nothing written.
    r = _ask(client, bills[:1])
    assert r.status_code == 400 and PaperDelivery.objects.count() == 0
    pay_through_sandbox(client, bills)
    totals = [b.total for b in Bill.objects.filter(account=acc).order_by("pk")]
    paid_sum = sum(p.amount for p in Payment.objects.all())
    page = client.get(URL).content.decode()
    assert page.count('data-testid="paper-bill"') == 2
    assert "¥10.00" in page  # the households' postage, paid to the courier
    for bad in [{"address": " "}, {"recipient": ""}, {"phone": "12"}]:
        r = _ask(client, bills, **bad)
        assert r.status_code == 400
    assert PaperDelivery.objects.count() == 0 and Invoice.objects.count() == 0
    r = _ask(client, bills)
    assert r.status_code == 302 and r["Location"] == URL
    parcel = PaperDelivery.objects.get()
    assert parcel.requests.count() == 2 and Invoice.objects.count() == 2  # issued on the way
    assert parcel.status == "requested"
    # Asking again for the same invoices while on their way is refused.
    assert _ask(client, bills[:1]).status_code == 400
    # No fee is ever added to a bill or a payment.
    assert [b.total for b in Bill.objects.filter(account=acc).order_by("pk")] == totals
    assert sum(p.amount for p in Payment.objects.all()) == paid_sum
    # The back office: the courier and the tracking number are both needed.
    bo = staff_client(back_office)
    assert "周美华" in bo.get("/payments/staff/paper/").content.decode()
    bo.post(f"/payments/staff/paper/{parcel.pk}/advance/", {"courier": "顺丰速运"})
    parcel.refresh_from_db()
    assert parcel.status == "requested"
    bo.post(
        f"/payments/staff/paper/{parcel.pk}/advance/",
        {"courier": "顺丰速运", "tracking_no": "SF1234567890"},
    )
    parcel.refresh_from_db()
    assert parcel.status == "dispatched" and parcel.tracking_no == "SF1234567890"
    assert set(PaperInvoiceRequest.objects.values_list("status", "tracking_no")) == {
        ("dispatched", "SF1234567890")
    }
    page = client.get(URL).content.decode()
    assert "SF1234567890" in page and "顺丰速运" in page
    bo.post(f"/payments/staff/paper/{parcel.pk}/advance/")
    parcel.refresh_from_db()
    assert parcel.status == "delivered" and parcel.delivered_at is not None
    assert set(PaperInvoiceRequest.objects.values_list("status", flat=True)) == {"delivered"}


def test_enterprises_get_it_free(db: Any, supervisor: Any) -> None:
    firm = f.customer(
        name="宁波甬江机械有限公司",
        phones=("13655554444",),
        kind=CustomerKind.ORGANISATION,
        uscc="91110000600037341L",
    )
    acc = f.account(firm, number="3302888002", kind="non_residential", road="江东北路1号")
    f.read(acc, dt.date(2023, 1, 31), "50")
    services.bill_issue(
        actor=SYSTEM, account=acc, period_start=dt.date(2023, 1, 1), period_end=dt.date(2023, 1, 31)
    )
    client = portal_login(Client())
    r = client.post("/portal/accounts/add/", {"number": "3302888002", "id_digits": "341L"})
    assert r.status_code == 302, r.content
    bills = list(Bill.objects.filter(account=acc))
    pay_through_sandbox(client, bills)
    page = client.get(URL).content.decode()
    assert "¥10" not in page and 'data-testid="paper-fee"' in page
    assert _ask(client, bills, recipient="财务部 李会计").status_code == 302
    assert PaperInvoiceRequest.objects.get().fee == Decimal("0.00")


def test_another_residents_bill_is_404(bound: tuple[Client, Any]) -> None:
    client, acc = bound
    pay_through_sandbox(client, list(Bill.objects.filter(account=acc)))
    stranger = portal_login(Client(), phone="13922223333")
    r = _ask(stranger, list(Bill.objects.filter(account=acc)))
    assert r.status_code == 404 and PaperDelivery.objects.count() == 0
    assert Client().get(URL).status_code == 302  # log in first
