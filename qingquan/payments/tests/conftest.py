from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from qingquan.customers.models import Bill
from qingquan.payments.models import PaymentOrder
from qingquan.payments.providers import SandboxProvider
from qingquan.portal.tests.conftest import billed_account, portal_login  # noqa: F401
from qingquan.staff.roles import Role


@pytest.fixture
def bound(billed_account: Any, supervisor: Any) -> tuple[Client, Any]:  # noqa: F811
    client = portal_login(Client())
    client.post("/portal/accounts/add/", {"number": "3302888001", "name": "周美华"})
    return client, billed_account


def pay_through_sandbox(client: Client, bills: list[Bill], provider: str = "wechat") -> Any:
    """Order `bills` from the portal and confirm at the sandbox's cashier (which books
    the charge in its ledger and posts its signed notify)."""
    r = client.post("/portal/pay/", {"bill": [b.pk for b in bills], "provider": provider})
    assert r.status_code == 302, r.content
    order = PaymentOrder.objects.order_by("-pk").first()
    assert order is not None
    cashier = Client().post(f"/payments/sandbox/{order.out_trade_no}/")
    assert cashier.status_code == 302
    order.refresh_from_db()
    return order


def post_notify(provider: str, headers: dict[str, str], body: bytes) -> Any:
    return Client().post(
        f"/payments/notify/{provider}/", data=body, content_type="application/json", headers=headers
    )


@pytest.fixture
def back_office(make_user: Any) -> Any:
    return make_user(Role.BACK_OFFICE)


def staff_client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


__all__ = ["SandboxProvider", "pay_through_sandbox", "post_notify", "staff_client"]
