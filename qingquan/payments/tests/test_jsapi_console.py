"""WeChat Pay JSAPI (inside WeChat) against the sandbox: prepay with the payer's openid
through a signed request the sandbox verifies, and JS parameters signed as the WeChat
client checks them; the console's payment QR for a caller's open bills."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from qingquan.customers.models import Bill, BillStatus
from qingquan.payments import sandbox
from qingquan.payments.models import OrderStatus, PaymentOrder
from qingquan.payments.providers import ProviderError, SandboxProvider
from qingquan.payments.services import PaymentError, order_create
from qingquan.payments.tests.conftest import post_notify, staff_client

pytestmark = pytest.mark.django_db
OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"


def test_jsapi_prepay_and_signed_js_params(billed_account: Any, supervisor: Any) -> None:
    bills = list(Bill.objects.filter(account=billed_account))
    order = order_create(resident=None, bills=bills, provider_name="wechat", openid=OPENID)
    params = order.js_params  # type: ignore[attr-defined]
    assert order.trade_type == "jsapi" and order.code_url == params["package"]
    assert params["package"].startswith("prepay_id=wx") and params["signType"] == "RSA"
    assert set(params) == {"appId", "timeStamp", "nonceStr", "package", "signType", "paySign"}
    assert sandbox.verify_js_params(params)
    for key in ["package", "timeStamp", "nonceStr", "appId"]:
        assert not sandbox.verify_js_params({**params, key: params[key] + "0"})
    # Paid inside WeChat: the same signed notify marks the bills paid.
    headers, body = SandboxProvider("wechat").charge(order)
    assert post_notify("wechat", headers, body).status_code == 204
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert all(b.status == BillStatus.PAID for b in Bill.objects.all())


def test_jsapi_refusals(billed_account: Any, supervisor: Any) -> None:
    bill = Bill.objects.filter(account=billed_account).first()
    assert bill is not None
    for bad in ["abc", "o" * 65, "oUpF8uMuAJO M2pxb1"]:
        with pytest.raises(PaymentError):
            order_create(resident=None, bills=[bill], provider_name="wechat", openid=bad)
    with pytest.raises(PaymentError):  # JSAPI is WeChat Pay's
        order_create(resident=None, bills=[bill], provider_name="alipay", openid=OPENID)
    assert PaymentOrder.objects.count() == 0  # nothing half-written


def test_the_sandbox_verifies_our_requests_signature() -> None:
    body = json.dumps({"out_trade_no": "X"}).encode()
    path = "/v3/pay/transactions/jsapi"
    good = sandbox.request_authorization("POST", path, body)
    sandbox.verify_request("POST", path, good, body)
    for auth, data in [
        (sandbox.request_authorization("POST", path, body, secret="other"), body),
        (good, body + b" "),
        (good.replace("1900000001", "1900000002"), body),
        ("Bearer x", body),
    ]:
        with pytest.raises(ProviderError):
            sandbox.verify_request("POST", path, auth, data)


def test_console_qr_for_open_bills(billed_account: Any, agent: Any, supervisor: Any) -> None:
    client = staff_client(agent)
    url = f"/payments/console/accounts/{billed_account.pk}/"
    page = client.get(url).content.decode()
    assert page.count('data-testid="console-bill"') == 2
    bills = list(Bill.objects.filter(account=billed_account))
    r = client.post(url, {"bill": [b.pk for b in bills], "provider": "wechat"})
    assert r.status_code == 200
    page = r.content.decode()
    assert 'data-testid="console-qr-image"' in page and "data:image/png;base64," in page
    order = PaymentOrder.objects.get()
    assert order.agent == agent and order.resident is None
    assert order.amount == sum(b.total for b in bills)  # no fee
    assert f'data-scan="http://testserver/payments/sandbox/{order.out_trade_no}/"' in page
    status = f"/payments/console/orders/{order.out_trade_no}/"
    assert 'data-testid="console-waiting"' in client.get(status).content.decode()
    Client().post(f"/payments/sandbox/{order.out_trade_no}/")  # the caller scans and pays
    assert 'data-testid="console-paid"' in client.get(status).content.decode()
    # Nothing left: a second code is refused (400), bills of another account too.
    r = client.post(url, {"bill": [b.pk for b in bills], "provider": "wechat"})
    assert r.status_code == 400 and PaymentOrder.objects.count() == 1
    assert 'data-testid="console-nothing"' in client.get(url).content.decode()


def test_console_qr_access(billed_account: Any, make_user: Any) -> None:
    from qingquan.staff.roles import Role

    url = f"/payments/console/accounts/{billed_account.pk}/"
    assert staff_client(make_user(Role.CREW)).get(url).status_code == 403
    assert staff_client(make_user(Role.BACK_OFFICE)).get(url).status_code == 403
    assert Client().get(url).status_code == 302
    agent = staff_client(make_user(Role.AGENT))
    assert agent.get("/payments/console/accounts/999999/").status_code == 404
    assert agent.get("/payments/console/orders/QQNOPE/").status_code == 404
    r = agent.post(url, {"bill": ["999999"], "provider": "wechat"})
    assert r.status_code == 400 and PaymentOrder.objects.count() == 0
