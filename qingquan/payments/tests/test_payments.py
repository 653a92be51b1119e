"""Paying bills online through the sandbox: verified, idempotent notifies checked to the
fen; a paid bill shows paid at once."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from qingquan.customers.models import Bill, BillStatus, Payment
from qingquan.payments.models import NotifyLog, OrderStatus, PaymentOrder
from qingquan.payments.providers import SandboxProvider
from qingquan.portal.tests.conftest import billed_account, portal_login  # noqa: F401

pytestmark = pytest.mark.django_db


def _post_notify(client: Client, provider: str, headers: dict[str, str], body: bytes) -> Any:
    return client.post(
        f"/payments/notify/{provider}/", data=body, content_type="application/json", headers=headers
    )


def test_pay_all_bills_through_the_sandbox(bound: tuple[Client, Any]) -> None:
    client, acc = bound
    bills = list(Bill.objects.filter(account=acc).order_by("pk"))
    total = sum((b.total for b in bills), Decimal("0"))
    r = client.post(
        "/portal/pay/",
        {
            "bill": [b.pk for b in bills],
            "provider": "wechat",
            "next": f"/portal/accounts/{acc.pk}/",
        },
    )
    assert r.status_code == 302 and r["Location"].startswith("/payments/sandbox/")
    order = PaymentOrder.objects.get()
    assert order.amount == total  # no fee added
    cashier = Client()
    assert cashier.get(r["Location"]).status_code == 200
    r = cashier.post(r["Location"].split("?")[0], {"next": f"/portal/accounts/{acc.pk}/"})
    assert r.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert all(b.status == BillStatus.PAID for b in Bill.objects.filter(account=acc))
    assert Payment.objects.filter(channel="wechat").count() == 2
    page = client.get(f"/portal/accounts/{acc.pk}/").content.decode()
    assert 'data-testid="all-paid"' in page


def test_repeated_forged_and_short_notifies(bound: tuple[Client, Any]) -> None:
    client, acc = bound
    bill = Bill.objects.filter(account=acc).order_by("pk").first()
    assert bill is not None
    client.post("/portal/pay/", {"bill": [bill.pk], "provider": "alipay"})
    order = PaymentOrder.objects.get()
    sandbox = SandboxProvider("alipay")
    notifier = Client()
    # Forged: signed with another secret.
    headers, body = sandbox.notify_for(order, secret="not-the-secret")
    assert _post_notify(notifier, "alipay", headers, body).status_code == 401
    # Tampered body after signing.
    headers, body = sandbox.notify_for(order)
    data = json.loads(body)
    data["resource"]["amount"]["total"] = 1
    assert _post_notify(notifier, "alipay", headers, json.dumps(data).encode()).status_code == 401
    # Signed but one fen short.
    headers, body = sandbox.notify_for(order, amount_fen=order.amount_fen - 1)
    assert _post_notify(notifier, "alipay", headers, body).status_code == 400
    assert Payment.objects.count() == 0
    # The right one, then the same again: one payment.
    headers, body = sandbox.notify_for(order)
    assert _post_notify(notifier, "alipay", headers, body).status_code == 200
    assert _post_notify(notifier, "alipay", headers, body).status_code == 200
    assert Payment.objects.count() == 1
    bill.refresh_from_db()
    assert bill.status == BillStatus.PAID
    order.refresh_from_db()
    assert order.notifies == 3  # verified ones only: the short one, the paid one, the repeat
    outcomes = list(NotifyLog.objects.order_by("pk").values_list("outcome", flat=True))
    assert outcomes == ["rejected", "rejected", "amount mismatch", "paid", "repeat"]
    # A paid bill cannot be ordered again.
    r = client.post("/portal/pay/", {"bill": [bill.pk], "provider": "wechat"})
    assert r.status_code == 302 and PaymentOrder.objects.count() == 1


def test_bill_paid_at_the_counter_meanwhile_is_not_paid_twice(bound: tuple[Client, Any]) -> None:
    from qingquan.core.actors import SYSTEM
    from qingquan.customers.services import payment_record

    client, acc = bound
    bill = Bill.objects.filter(account=acc).order_by("pk").first()
    assert bill is not None
    client.post("/portal/pay/", {"bill": [bill.pk], "provider": "wechat"})
    order = PaymentOrder.objects.get()
    payment_record(actor=SYSTEM, bill=bill, amount=bill.total, channel="counter")
    headers, body = SandboxProvider("wechat").notify_for(order)
    assert _post_notify(Client(), "wechat", headers, body).status_code == 204
    assert Payment.objects.filter(bill=bill).count() == 1
    assert "to refund" in NotifyLog.objects.get().outcome


def test_unknown_provider_is_404() -> None:
    assert (
        Client()
        .post("/payments/notify/paypal/", data=b"{}", content_type="application/json")
        .status_code
        == 404
    )


def test_a_real_provider_link_is_shown_as_a_qr_code(
    bound: tuple[Client, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from qingquan.payments import providers

    class FakeNative(providers.SandboxProvider):
        def checkout(self, order: PaymentOrder, *, description: str) -> providers.Checkout:
            assert "水费" in description
            return providers.Checkout(code_url="weixin://wxpay/bizpayurl?pr=abc")

    monkeypatch.setattr("qingquan.payments.services.provider", lambda name: FakeNative(name))
    client, acc = bound
    bill = Bill.objects.filter(account=acc).first()
    assert bill is not None
    r = client.post("/portal/pay/", {"bill": [bill.pk], "provider": "wechat"})
    assert r.status_code == 200 and 'data-testid="pay-qr"' in r.content.decode()
    assert PaymentOrder.objects.get().code_url.startswith("weixin://")


def test_a_notify_for_one_bill_takes_a_few_statements(bound: tuple[Client, Any]) -> None:
    """The notify's path stays short (issue #19's bench: notifies at half a bare endpoint's
    rate or better): the order and its bills, one payment with its duplicate check by
    index, the bill's status, two audit rows, the order, the log; no savepoint beyond the
    payment's own, no works-fee lookup for an order of bills, one sum of what was paid."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client, acc = bound
    bill = Bill.objects.filter(account=acc).order_by("pk").first()
    assert bill is not None
    client.post("/portal/pay/", {"bill": [bill.pk], "provider": "wechat"})
    order = PaymentOrder.objects.get()
    headers, body = SandboxProvider("wechat").charge(order)
    with CaptureQueriesContext(connection) as queries:
        r = _post_notify(Client(), "wechat", headers, body)
    assert r.status_code == 204
    statements = [q["sql"] for q in queries.captured_queries]
    assert len(statements) <= 15, "\n".join(statements)
    # The notify's transaction (a savepoint inside the test's) and the payment's own.
    assert sum("SAVEPOINT" in s and "RELEASE" not in s for s in statements) <= 2
    assert sum('SUM("customers_payment"."amount")' in s for s in statements) == 1
    assert not any("connections_quote" in s for s in statements)
    bill.refresh_from_db()
    assert bill.status == BillStatus.PAID
    assert Payment.objects.get(bill=bill).reference == f"{order.out_trade_no}-{bill.pk}"
