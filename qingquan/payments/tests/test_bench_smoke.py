"""bench/bench_portal.py's setup and bare endpoints on a tiny city: the bare portal home
reads what the portal home shows, and the bare notify writes the rows the platform's
notify writes (else the bench would compare unlike work)."""

from __future__ import annotations

import pytest
from django.test import Client

from qingquan.core.models import AuditEvent
from qingquan.customers.generator import generate_city
from qingquan.customers.models import Bill, BillStatus, Payment
from qingquan.payments.models import NotifyLog, OrderStatus, PaymentOrder
from qingquan.payments.providers import SandboxProvider
from qingquan.portal import rules
from qingquan.portal.models import Binding

pytestmark = pytest.mark.django_db


def test_the_bench_home_and_notifies_match_the_platform() -> None:
    from bench import bench_portal

    generate_city(accounts=30, months=24, seed=5)
    key = bench_portal._home_resident()
    page = Client().get("/portal/", headers={"cookie": f"{rules.COOKIE}={key}"})
    assert page.status_code == 200
    bare = bench_portal._home_rows(key)
    assert bare is not None
    html = page.content.decode()
    numbers = list(
        Binding.objects.filter(resident__phone=bench_portal.RESIDENT_PHONE).values_list(
            "account__number", flat=True
        )
    )
    assert html.count('data-testid="account-card"') == len(numbers) == 3
    assert all(n in html and n in bare for n in numbers)
    assert bench_portal._home_rows("not a session") is None

    orders = bench_portal._open_orders(2)
    bench_portal._pay_one(*orders.pop())  # the platform's notify
    provider, order, transaction_id = orders.pop()
    headers, body = SandboxProvider(provider).notify_for(order, transaction_id=transaction_id)
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    assert bench_portal._bare_notify(provider, raw, body) == 200
    assert bench_portal._bare_notify(provider, raw, b"{}") == 401  # signature checked

    paid = list(PaymentOrder.objects.filter(status=OrderStatus.PAID).order_by("pk"))
    assert len(paid) == 2
    shapes = []
    for each in paid:
        [line] = each.lines.select_related("bill")
        bill = Bill.objects.get(pk=line.bill_id)
        payment = Payment.objects.get(bill=bill, channel=each.provider)
        shapes.append(
            (
                bill.status,
                payment.amount == line.amount == each.amount,
                payment.reference == f"{each.out_trade_no}-{bill.pk}",
                each.notifies,
                bool(each.transaction_id),
                AuditEvent.objects.filter(
                    action="customers.payment.record", object_id=str(payment.pk)
                ).count(),
                AuditEvent.objects.filter(
                    action="payments.order.paid", object_id=str(each.pk)
                ).count(),
                NotifyLog.objects.filter(out_trade_no=each.out_trade_no, outcome="paid").count(),
            )
        )
    assert shapes[0] == shapes[1] == (BillStatus.PAID, True, True, 1, True, 1, 1, 1)
