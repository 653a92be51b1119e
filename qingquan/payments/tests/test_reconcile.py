"""The day's reconciliation against the sandbox's statement file (WeChat Pay trade-bill
CSV), with planted differences: a charge whose notify never reached us, an order we
marked paid that the provider never charged, and an amount that differs."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from qingquan.core import clock
from qingquan.core.actors import system
from qingquan.customers.models import Bill
from qingquan.payments import refunds
from qingquan.payments.models import (
    Difference,
    PaymentOrder,
    Reconciliation,
    Refund,
    SandboxTrade,
)
from qingquan.payments.providers import SandboxProvider
from qingquan.payments.reconcile import parse_statement, reconcile
from qingquan.payments.services import PaymentError, order_create
from qingquan.payments.tests.conftest import pay_through_sandbox, post_notify, staff_client

pytestmark = pytest.mark.django_db


def _to_yesterday() -> dt.date:
    """Move everything booked today to the same hour yesterday (a day must be over)."""
    day = dt.timedelta(days=1)
    for row in SandboxTrade.objects.all():
        SandboxTrade.objects.filter(pk=row.pk).update(at=row.at - day)
    for order in PaymentOrder.objects.exclude(paid_at=None):
        assert order.paid_at is not None
        PaymentOrder.objects.filter(pk=order.pk).update(paid_at=order.paid_at - day)
    for refund in Refund.objects.exclude(refunded_at=None):
        assert refund.refunded_at is not None
        Refund.objects.filter(pk=refund.pk).update(refunded_at=refund.refunded_at - day)
    return clock.today() - day


@pytest.fixture
def day_with_differences(
    bound: tuple[Client, Any], back_office: Any, supervisor: Any
) -> dict[str, Any]:
    client, acc = bound
    first, second = list(Bill.objects.filter(account=acc).order_by("pk"))
    ok = pay_through_sandbox(client, [first])
    refund = refunds.refund_request(actor=back_office, order=ok, amount="1.00", reason="x")
    refunds.refund_approve(actor=supervisor, refund=refund)
    refunds.sandbox_refund_notify(Refund.objects.get(pk=refund.pk))
    # Planted 1: the sandbox charged, its notify never reached us.
    lost = order_create(resident=None, bills=[second], provider_name="wechat")
    SandboxProvider("wechat").charge(lost)
    # Planted 2: an order we marked paid that the provider's ledger does not have.
    third = pay_through_sandbox(client, [second])
    SandboxTrade.objects.filter(out_trade_no=third.out_trade_no).delete()
    # Planted 3: the provider booked one fen more on the good order.
    SandboxTrade.objects.filter(out_trade_no=ok.out_trade_no, kind="pay").update(
        amount_fen=ok.amount_fen + 1
    )
    return {"day": _to_yesterday(), "ok": ok, "lost": lost, "third": third, "refund": refund}


def test_planted_differences_are_listed(day_with_differences: dict[str, Any]) -> None:
    d = day_with_differences
    out = io.StringIO()
    call_command(
        "payments_reconcile", "--date", d["day"].isoformat(), "--provider", "wechat", stdout=out
    )
    run = Reconciliation.objects.get(provider="wechat")
    found = {(x.kind, x.out_trade_no, x.out_refund_no) for x in run.differences.all()}
    assert found == {
        ("missing_ours", d["lost"].out_trade_no, ""),
        ("missing_theirs", d["third"].out_trade_no, ""),
        ("amount", d["ok"].out_trade_no, ""),
    }
    diff = run.differences.get(kind="amount")
    assert diff.ours == d["ok"].amount and diff.theirs == d["ok"].amount + Decimal("0.01")
    assert "3 differences" in out.getvalue()
    assert run.ours_count == 3 and run.theirs_count == 3  # 2 charges + 1 refund each
    # The staff page lists them.
    page = staff_client_for_run(run)
    assert page.count('data-testid="difference"') == 3


def staff_client_for_run(run: Reconciliation) -> str:
    from qingquan.staff.roles import Role
    from qingquan.staff.tests.factories import make_user

    client = staff_client(make_user(Role.BACK_OFFICE))
    r = client.get(f"/payments/staff/reconciliation/{run.pk}/")
    assert r.status_code == 200
    return r.content.decode()


def test_a_clean_day_agrees_and_a_file_can_be_given(
    bound: tuple[Client, Any], tmp_path: Path
) -> None:
    client, acc = bound
    pay_through_sandbox(client, list(Bill.objects.filter(account=acc)), provider="alipay")
    day = _to_yesterday()
    statement = SandboxProvider("alipay").statement(day)
    assert statement.startswith("交易时间,") and "`SUCCESS" in statement
    assert "总交易单数" in statement
    run = reconcile(actor=system("payments"), provider_name="alipay", day=day)
    assert run.differences.count() == 0 and run.ours_total == run.theirs_total
    # The same file with a line removed, given with --file: missing in their statement.
    lines = statement.splitlines()
    path = tmp_path / "bill.csv"
    path.write_text("\n".join([lines[0], *lines[2:]]) + "\n", encoding="utf-8")
    call_command(
        "payments_reconcile",
        f"--date={day.isoformat()}",
        "--provider=alipay",
        f"--file={path}",
        stdout=io.StringIO(),
    )
    assert Difference.objects.get().kind == "missing_theirs"


def test_bad_input_refused() -> None:
    with pytest.raises(PaymentError):
        parse_statement("not,a,bill\n1,2,3\n")
    with pytest.raises(CommandError):
        call_command("payments_reconcile", "--date", "yesterday", stdout=io.StringIO())
    with pytest.raises(CommandError):  # a day not over yet
        call_command("payments_reconcile", "--date", clock.today().isoformat())
    assert Reconciliation.objects.count() == 0


def test_reconciliation_pages(back_office: Any, agent: Any) -> None:
    client = staff_client(back_office)
    assert client.get("/payments/staff/reconciliation/").status_code == 200
    yesterday = (clock.today() - dt.timedelta(days=1)).isoformat()
    r = client.post("/payments/staff/reconciliation/run/", {"day": yesterday, "provider": "wechat"})
    run = Reconciliation.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/payments/staff/reconciliation/{run.pk}/"
    assert 'data-testid="no-difference"' in client.get(r["Location"]).content.decode()
    r = client.post("/payments/staff/reconciliation/run/", {"day": "x", "provider": "wechat"})
    assert r.status_code == 302 and Reconciliation.objects.count() == 1
    assert staff_client(agent).get("/payments/staff/reconciliation/").status_code == 403
    assert len(client.get("/api/v1/payments/reconciliations").json()) == 1


def test_a_forged_statement_notify_is_not_a_payment(bound: tuple[Client, Any]) -> None:
    """(Reconciliation reads only orders the verified notifies paid.)"""
    _client, acc = bound
    bill = Bill.objects.filter(account=acc).first()
    assert bill is not None
    order = order_create(resident=None, bills=[bill], provider_name="wechat")
    headers, body = SandboxProvider("wechat").charge(order)
    headers["Wechatpay-Signature"] = "0" * 64
    assert post_notify("wechat", headers, body).status_code == 401
    day = _to_yesterday()
    run = reconcile(actor=system("payments"), provider_name="wechat", day=day)
    assert [x.kind for x in run.differences.all()] == ["missing_ours"]
