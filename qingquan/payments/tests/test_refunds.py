"""Refunds by the back office with a supervisor's approval: over-amount and self-approval
refused, sent through the sandbox, its signed refund notify idempotent, the bills follow."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from qingquan.core.access import AccessDenied
from qingquan.core.models import AuditEvent
from qingquan.customers.models import Bill, BillStatus, Payment
from qingquan.payments import refunds
from qingquan.payments.models import NotifyLog, OrderStatus, Refund, RefundStatus, SandboxTrade
from qingquan.payments.providers import SandboxProvider
from qingquan.payments.services import PaymentError
from qingquan.payments.tests.conftest import pay_through_sandbox, post_notify, staff_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid(bound: tuple[Client, Any]) -> Any:
    client, acc = bound
    bills = list(Bill.objects.filter(account=acc).order_by("pk"))
    order = pay_through_sandbox(client, bills)
    assert order.status == OrderStatus.PAID
    return order


def test_refund_asked_approved_sent_and_booked_once(
    paid: Any, back_office: Any, supervisor: Any
) -> None:
    first, second = list(paid.lines.order_by("bill_id"))
    amount = first.amount + Decimal("1.00")  # all of the first bill, part of the second
    refund = refunds.refund_request(
        actor=back_office, order=paid, amount=str(amount), reason="Paid twice at the counter"
    )
    assert refund.status == RefundStatus.REQUESTED and Payment.objects.count() == 2
    refund = refunds.refund_approve(actor=supervisor, refund=refund, note="ok")
    assert refund.status == RefundStatus.PROCESSING and refund.refund_id.startswith("SBR")
    assert SandboxTrade.objects.filter(kind="refund").count() == 1
    sandbox = SandboxProvider("wechat")
    headers, body = sandbox.refund_notify_for(refund)
    assert post_notify("wechat", headers, body).status_code == 204
    assert post_notify("wechat", headers, body).status_code == 204  # the repeat
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED and refund.notifies == 2
    assert Payment.objects.filter(amount__lt=0).count() == 2  # booked once
    b1, b2 = Bill.objects.get(pk=first.bill_id), Bill.objects.get(pk=second.bill_id)
    assert b1.status == BillStatus.UNPAID and b2.status == BillStatus.PARTIALLY_PAID
    assert b2.outstanding == Decimal("1.00")
    outcomes = list(NotifyLog.objects.order_by("pk").values_list("outcome", flat=True))
    assert outcomes[-2:] == ["refunded", "refund repeat"]
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"payments.refund.request", "payments.refund.approve", "payments.refund.done"} <= (
        actions
    )
    assert "customers.payment.refund" in actions
    paid.refresh_from_db()
    assert paid.status == OrderStatus.PAID  # partly refunded
    # The rest, then the order is refunded; nothing more can be asked.
    rest = refunds.refund_request(
        actor=back_office, order=paid, amount=paid.amount - amount, reason="the rest"
    )
    refunds.refund_approve(actor=supervisor, refund=rest)
    refunds.sandbox_refund_notify(Refund.objects.get(pk=rest.pk))
    paid.refresh_from_db()
    assert paid.status == OrderStatus.REFUNDED
    assert all(b.status == BillStatus.UNPAID for b in Bill.objects.all())
    with pytest.raises(PaymentError):
        refunds.refund_request(actor=back_office, order=paid, amount="0.01", reason="more")
    # A repeated payment notify of a refunded order records nothing.
    headers, body = sandbox.charge(paid)
    assert post_notify("wechat", headers, body).status_code == 204
    assert Payment.objects.filter(amount__gt=0).count() == 2


def test_over_amount_bad_amount_and_no_reason_refused(paid: Any, back_office: Any) -> None:
    for amount in [str(paid.amount + Decimal("0.01")), "0", "-1", "1.234", "abc", "NaN"]:
        with pytest.raises(PaymentError):
            refunds.refund_request(actor=back_office, order=paid, amount=amount, reason="x")
    with pytest.raises(PaymentError):
        refunds.refund_request(actor=back_office, order=paid, amount="1.00", reason="  ")
    refunds.refund_request(actor=back_office, order=paid, amount=paid.amount, reason="all")
    with pytest.raises(PaymentError):  # the waiting refund counts
        refunds.refund_request(actor=back_office, order=paid, amount="0.01", reason="more")
    assert Refund.objects.count() == 1


def test_approval_by_the_requester_or_a_back_office_member_refused(
    paid: Any, back_office: Any, administrator: Any, make_user: Any
) -> None:
    from qingquan.staff.roles import Role

    refund = refunds.refund_request(actor=back_office, order=paid, amount="1.00", reason="x")
    with pytest.raises(AccessDenied):  # back office may not approve
        refunds.refund_approve(actor=make_user(Role.BACK_OFFICE), refund=refund)
    # An administrator who could both ask and approve still may not approve their own.
    own = Refund.objects.create(
        out_refund_no="RFOWN",
        order=paid,
        amount=Decimal("1.00"),
        reason="x",
        requested_by=administrator,
        requested_at=refund.requested_at,
    )
    with pytest.raises(AccessDenied):
        refunds.refund_approve(actor=administrator, refund=own)
    with pytest.raises(AccessDenied):
        refunds.refund_reject(actor=administrator, refund=own, note="no")
    own.refresh_from_db()
    assert own.status == RefundStatus.REQUESTED and not own.refund_id
    # Through the page: 403 and nothing changes.
    r = staff_client(administrator).post(
        f"/payments/staff/refunds/{own.pk}/decide/", {"decision": "approve"}
    )
    assert r.status_code == 403
    assert SandboxTrade.objects.filter(kind="refund").count() == 0


def test_reject_needs_a_note_and_decides_once(paid: Any, back_office: Any, supervisor: Any) -> None:
    refund = refunds.refund_request(actor=back_office, order=paid, amount="1.00", reason="x")
    with pytest.raises(PaymentError):
        refunds.refund_reject(actor=supervisor, refund=refund, note=" ")
    refunds.refund_reject(actor=supervisor, refund=refund, note="not a double payment")
    with pytest.raises(PaymentError):
        refunds.refund_approve(actor=supervisor, refund=refund)
    # A rejected refund frees the amount again.
    refunds.refund_request(actor=back_office, order=paid, amount=paid.amount, reason="all")


def test_forged_and_short_refund_notifies(paid: Any, back_office: Any, supervisor: Any) -> None:
    refund = refunds.refund_request(actor=back_office, order=paid, amount="2.00", reason="x")
    refund = refunds.refund_approve(actor=supervisor, refund=refund)
    sandbox = SandboxProvider("wechat")
    headers, body = sandbox.refund_notify_for(refund, secret="forged")
    assert post_notify("wechat", headers, body).status_code == 401
    short = Refund(
        out_refund_no=refund.out_refund_no, order=paid, amount=Decimal("1.99"), refund_id="x"
    )
    SandboxTrade.objects.filter(kind="refund").update(amount_fen=199)
    headers, body = sandbox.refund_notify_for(short)
    assert post_notify("wechat", headers, body).status_code == 400
    refund.refresh_from_db()
    assert refund.status == RefundStatus.PROCESSING
    assert Payment.objects.filter(amount__lt=0).count() == 0


def test_sandbox_refuses_a_refund_of_an_order_it_never_charged(
    bound: tuple[Client, Any], back_office: Any, supervisor: Any
) -> None:
    client, acc = bound
    bill = Bill.objects.filter(account=acc).first()
    assert bill is not None
    client.post("/portal/pay/", {"bill": [bill.pk], "provider": "alipay"})
    from qingquan.payments.models import PaymentOrder

    order = PaymentOrder.objects.get()
    # Paid by a (test) notify the sandbox never booked in its ledger.
    headers, body = SandboxProvider("alipay").notify_for(order)
    assert post_notify("alipay", headers, body).status_code == 200
    refund = refunds.refund_request(actor=back_office, order=order, amount="1.00", reason="x")
    with pytest.raises(PaymentError):
        refunds.refund_approve(actor=supervisor, refund=refund)
    refund.refresh_from_db()
    assert refund.status == RefundStatus.REQUESTED  # nothing half-written


def test_refund_pages_and_api(paid: Any, back_office: Any, supervisor: Any) -> None:
    bo = staff_client(back_office)
    r = bo.get(f"/payments/staff/refunds/?order={paid.out_trade_no}")
    assert r.status_code == 200 and 'data-testid="refund-order-found"' in r.content.decode()
    r = bo.post(
        "/payments/staff/refunds/new/",
        {"order": paid.out_trade_no, "amount": "99999", "reason": "x"},
    )
    assert r.status_code == 302 and Refund.objects.count() == 0
    r = bo.post(
        "/payments/staff/refunds/new/",
        {"order": paid.out_trade_no, "amount": "3.00", "reason": "duplicate"},
    )
    refund = Refund.objects.get()
    assert r["Location"] == f"/payments/staff/refunds/{refund.pk}/"
    page = bo.get(r["Location"]).content.decode()
    assert 'data-testid="refund-waiting"' in page and "refund-approve" not in page
    assert bo.post(f"/payments/staff/refunds/{refund.pk}/decide/", {}).status_code == 403
    sup = staff_client(supervisor)
    r = sup.post(f"/payments/staff/refunds/{refund.pk}/decide/", {"decision": "approve"})
    assert r.status_code == 302
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED  # the sandbox's notify followed
    # API: ask as back office, approving one's own → 403, supervisor approves.
    r = bo.post(
        "/api/v1/payments/refunds",
        data={"out_trade_no": paid.out_trade_no, "amount": "1.50", "reason": "api"},
        content_type="application/json",
    )
    assert r.status_code == 201, r.content
    rid = r.json()["id"]
    r = bo.post(
        "/api/v1/payments/refunds",
        data={"out_trade_no": paid.out_trade_no, "amount": "100000", "reason": "api"},
        content_type="application/json",
    )
    assert r.status_code == 422
    r = bo.post(f"/api/v1/payments/refunds/{rid}/approve", data={}, content_type="application/json")
    assert r.status_code == 403
    r = sup.post(
        f"/api/v1/payments/refunds/{rid}/approve", data={}, content_type="application/json"
    )
    assert r.status_code == 200 and r.json()["status"] == "succeeded"
    assert len(sup.get("/api/v1/payments/refunds").json()) == 2
    assert staff_client(supervisor).get("/payments/staff/refunds/").status_code == 200
