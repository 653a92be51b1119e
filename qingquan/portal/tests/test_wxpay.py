"""Paying inside WeChat (issue 19 items 3 and 4, JSAPI): the portal opened in WeChat's
browser gets the payer's openid through WeChat's OAuth redirect (the fake WeChat server
answers the code exchange, once per code), orders a JSAPI payment and gives the page
parameters signed as WeChat's client checks them; the sandbox's notify marks the bills
paid. Outside WeChat nothing is ordered; other residents' bills and orders are 404."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from django.test import Client

from qingquan.customers.models import Bill, BillStatus
from qingquan.payments import sandbox
from qingquan.payments.models import OrderStatus, PaymentOrder
from qingquan.payments.providers import SandboxProvider
from qingquan.portal import services
from qingquan.portal.tests.conftest import portal_login

pytestmark = pytest.mark.django_db
UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI"
)


@pytest.fixture
def wechat(settings: Any) -> Iterator[Any]:
    """The fake WeChat server (OAuth included), the settings pointing at it."""
    from qingquan.messaging.fake import FakeGateways

    fake = FakeGateways(app_id="wxapp-test", app_secret="s3cret").start()
    settings.MESSAGING = {
        **settings.MESSAGING,
        "WECHAT_ENDPOINT": f"{fake.url}/wechat/",
        "WECHAT_OAUTH_URL": f"{fake.url}/wechat/connect/oauth2/authorize",
        "WECHAT_APP_ID": "wxapp-test",
        "WECHAT_APP_SECRET": "s3cret",
    }
    yield fake
    fake.stop()


def in_wechat(billed_account: Any) -> Client:
    client = portal_login(Client(HTTP_USER_AGENT=UA))
    from qingquan.portal.models import Resident

    resident = Resident.objects.get()
    services.account_bind(resident=resident, number=billed_account.number, name="周美华")
    return client


def through_oauth(client: Client, fake: Any, response: Any) -> Any:
    """Follow the redirect to WeChat's OAuth page (the fake) and back; the answer."""
    assert response.status_code == 200
    oauth = response.context["oauth"]
    assert f'content="0;url={oauth}"' in response.content.decode().replace("&amp;", "&")
    target = urlparse(oauth)
    assert oauth.endswith("#wechat_redirect")
    query = {k: v[0] for k, v in parse_qs(target.query).items()}
    assert query["appid"] == "wxapp-test" and query["scope"] == "snsapi_base"
    assert query["redirect_uri"] == "http://testserver/portal/pay/wechat/back/"
    back = httpx.get(oauth.split("#")[0], follow_redirects=False)
    assert back.status_code == 302
    answer = urlparse(back.headers["location"])
    return client.get(answer.path, parse_qs(answer.query)), answer


def test_jsapi_payment_inside_wechat(billed_account: Any, supervisor: Any, wechat: Any) -> None:
    client = in_wechat(billed_account)
    bills = list(Bill.objects.filter(account=billed_account).order_by("pk"))
    # The account page's WeChat button, inside WeChat: WeChat's own cashier.
    r = client.post(
        "/portal/pay/", {"bill": [b.pk for b in bills], "provider": "wechat", "next": "/portal/"}
    )
    assert r.status_code == 302 and r["Location"].startswith("/portal/pay/wechat/?bill=")
    r = client.get(r["Location"])
    back, _url = through_oauth(client, wechat, r)
    assert back.status_code == 302 and back["Location"].startswith("/portal/pay/wechat/?bill=")
    page = client.get(back["Location"])
    assert page.status_code == 200
    assert 'data-testid="wxpay-pay"' in page.content.decode()
    assert PaymentOrder.objects.count() == 0  # nothing ordered before the button
    r = client.post("/portal/pay/wechat/", {"bill": [b.pk for b in bills]})
    assert r.status_code == 200
    order = PaymentOrder.objects.get()
    assert order.trade_type == "jsapi" and order.amount == sum(b.total for b in bills)
    bridge = r.context["bridge"]
    params = bridge["params"]
    assert sandbox.verify_js_params(params) and params["package"] == order.code_url
    assert bridge["done"] == f"/portal/pay/wechat/{order.out_trade_no}/"
    assert 'id="wxpay-bridge"' in r.content.decode()
    waiting = client.get(bridge["done"]).content.decode()
    assert 'data-testid="wxpay-waiting"' in waiting
    headers, body = SandboxProvider("wechat").charge(order)
    notify = client.post(
        "/payments/notify/wechat/", body, content_type="application/json", headers=headers
    )
    assert notify.status_code == 204
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert all(b.status == BillStatus.PAID for b in Bill.objects.filter(account=billed_account))
    assert 'data-testid="wxpay-paid"' in client.get(bridge["done"]).content.decode()


def test_the_oauth_code_and_state_are_checked(
    billed_account: Any, supervisor: Any, wechat: Any
) -> None:
    client = in_wechat(billed_account)
    bill = Bill.objects.filter(account=billed_account).first()
    assert bill is not None
    r = client.get(f"/portal/pay/wechat/?bill={bill.pk}")
    back, url = through_oauth(client, wechat, r)
    assert back.status_code == 302
    # The same code again (a replay): WeChat refuses it, and so do we.
    client.cookies.pop("qq_wx_openid")
    client.cookies["qq_wx_state"] = r.cookies["qq_wx_state"].value
    again = client.get(url.path, parse_qs(url.query))
    assert again.status_code == 400 and "qq_wx_openid" not in again.cookies
    # A state that is not the one we sent, or no state cookie at all.
    r = client.get(f"/portal/pay/wechat/?bill={bill.pk}")
    code = wechat.authorize(
        {
            "appid": "wxapp-test",
            "redirect_uri": "http://testserver/x",
            "response_type": "code",
            "scope": "snsapi_base",
            "state": "other",
        }
    )
    assert code is not None
    query = parse_qs(urlparse(code).query)
    assert client.get("/portal/pay/wechat/back/", query).status_code == 400
    client.cookies.pop("qq_wx_state")
    query["state"] = ["whatever"]
    assert client.get("/portal/pay/wechat/back/", query).status_code == 400
    assert "qq_wx_openid" not in client.cookies or not client.cookies["qq_wx_openid"].value
    assert PaymentOrder.objects.count() == 0


def test_outside_wechat_and_other_residents(
    billed_account: Any, supervisor: Any, wechat: Any
) -> None:
    client = in_wechat(billed_account)
    bill = Bill.objects.filter(account=billed_account).first()
    assert bill is not None
    # Outside WeChat: a hint, no OAuth, no order.
    plain = portal_login(Client(), phone="13911113333")
    from qingquan.portal.models import Resident

    owner = Resident.objects.get(phone="+8613911112222")
    other = Resident.objects.get(phone="+8613911113333")
    assert plain.get("/portal/pay/wechat/").status_code == 200
    assert 'data-testid="wxpay-outside"' in plain.get("/portal/pay/wechat/").content.decode()
    # Another resident's bill is a 404, inside WeChat too.
    other_in_wechat = Client(HTTP_USER_AGENT=UA)
    other_in_wechat.cookies = plain.cookies
    assert other_in_wechat.get(f"/portal/pay/wechat/?bill={bill.pk}").status_code == 404
    # The owner pays; the other resident cannot see the order.
    r = client.get(f"/portal/pay/wechat/?bill={bill.pk}")
    through_oauth(client, wechat, r)
    client.post("/portal/pay/wechat/", {"bill": [bill.pk]})
    order = PaymentOrder.objects.get()
    assert order.resident == owner
    assert other_in_wechat.get(f"/portal/pay/wechat/{order.out_trade_no}/").status_code == 404
    # The owner's openid cookie is bound to the owner: given to the other, it is no one's.
    other_in_wechat.cookies["qq_wx_openid"] = client.cookies["qq_wx_openid"].value
    r = other_in_wechat.get("/portal/pay/wechat/")
    assert "oauth2/authorize" in r.context["oauth"]
    assert other.pk != owner.pk
    # Not logged in: the login page.
    assert Client(HTTP_USER_AGENT=UA).get("/portal/pay/wechat/").status_code == 302
