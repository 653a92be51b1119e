"""In headless Chromium posing as WeChat's browser on a phone (375 × 812): a resident
opens an account, taps "Pay with WeChat Pay", goes through WeChat's OAuth (the fake
WeChat server sends the code back), confirms, and the page hands the order's signed
parameters to WeixinJSBridge: a fake bridge injected into the page records the call,
the parameters are checked as WeChat's client checks them, the sandbox's notify marks
the bills paid and the page shows it. axe finds no serious violation on the new pages,
in Chinese and English."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from qingquan.core import clock
from qingquan.customers.models import Bill, BillStatus
from qingquan.payments import sandbox
from qingquan.payments.models import OrderStatus, PaymentOrder
from qingquan.payments.providers import SandboxProvider
from qingquan.portal import rules, services
from qingquan.portal.models import Resident
from qingquan.portal.tests.conftest import PHONE
from qingquan.portal.tests.test_browser_axe import axe_violations
from qingquan.portal.tests.test_wxpay import UA

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FAKE_BRIDGE = """
window.WeixinJSBridge = {
  calls: [],
  invoke: function (name, params, done) {
    window.WeixinJSBridge.calls.push({ name: name, params: params });
    window.WeixinJSBridge.done = done;
  },
};
"""


@pytest.fixture
def wechat(settings: Any) -> Iterator[Any]:
    from qingquan.messaging.fake import FakeGateways

    fake = FakeGateways().start()
    settings.MESSAGING = {
        **settings.MESSAGING,
        "WECHAT_ENDPOINT": f"{fake.url}/wechat/",
        "WECHAT_OAUTH_URL": f"{fake.url}/wechat/connect/oauth2/authorize",
        "WECHAT_APP_ID": "fake",
        "WECHAT_APP_SECRET": "fake",
    }
    yield fake
    fake.stop()


@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_paying_inside_wechat_on_a_phone(
    browser: Any, live_server: Any, billed_account: Any, supervisor: Any, wechat: Any, lang: str
) -> None:
    resident = Resident.objects.create(phone=f"+86{PHONE}", created_at=clock.now())
    services.account_bind(resident=resident, number=billed_account.number, name="周美华")
    context = browser.new_context(
        locale="zh-CN",
        base_url=live_server.url,
        user_agent=UA,
        viewport={"width": 375, "height": 812},
    )
    context.set_default_timeout(15_000)
    context.add_cookies(
        [
            {"name": "django_language", "value": lang, "url": live_server.url},
            {
                "name": rules.COOKIE,
                "value": services.session_start(resident=resident),
                "url": f"{live_server.url}/portal/",
            },
        ]
    )
    context.add_init_script(FAKE_BRIDGE)
    page = context.new_page()
    found: dict[str, Any] = {}
    page.goto(f"/portal/accounts/{billed_account.pk}/")
    page.get_by_test_id("pay-wechat").click()
    # Through WeChat's OAuth (the fake) and back: the confirmation page.
    page.get_by_test_id("wxpay-pay").wait_for()
    assert wechat.codes and all(used for _o, _t, used in wechat.codes.values())
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    found["confirm"] = axe_violations(page)
    assert PaymentOrder.objects.count() == 0
    page.get_by_test_id("wxpay-pay").click()
    page.wait_for_function("() => window.WeixinJSBridge.calls.length === 1")
    call = page.evaluate("window.WeixinJSBridge.calls[0]")
    order = PaymentOrder.objects.get()
    assert call["name"] == "getBrandWCPayRequest"
    assert call["params"]["package"] == order.code_url and order.trade_type == "jsapi"
    assert sandbox.verify_js_params(call["params"])  # signed as WeChat's client checks
    found["cashier"] = axe_violations(page)
    # WeChat's cashier took the money: the sandbox posts its signed notify.
    headers, body = SandboxProvider("wechat").charge(order)
    answer = httpx.post(f"{live_server.url}/payments/notify/wechat/", content=body, headers=headers)
    assert answer.status_code == 204
    page.evaluate("window.WeixinJSBridge.done({ err_msg: 'get_brand_wcpay_request:ok' })")
    page.get_by_test_id("wxpay-paid").wait_for()
    found["paid"] = axe_violations(page)
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID and order.amount == sum(
        b.total for b in Bill.objects.filter(account=billed_account)
    )
    assert all(b.status == BillStatus.PAID for b in Bill.objects.filter(account=billed_account))
    # No bill chosen: the page says there is nothing to pay.
    page.goto("/portal/pay/wechat/")
    found["nothing"] = axe_violations(page)
    assert {k: v for k, v in found.items() if v} == {}
    context.close()


def test_a_cancelled_cashier_offers_to_pay_again(
    browser: Any, live_server: Any, billed_account: Any, supervisor: Any, wechat: Any
) -> None:
    resident = Resident.objects.create(phone=f"+86{PHONE}", created_at=clock.now())
    services.account_bind(resident=resident, number=billed_account.number, name="周美华")
    context = browser.new_context(
        base_url=live_server.url, user_agent=UA, viewport={"width": 375, "height": 812}
    )
    context.set_default_timeout(15_000)
    key = services.session_start(resident=resident)
    context.add_cookies([{"name": rules.COOKIE, "value": key, "url": f"{live_server.url}/portal/"}])
    context.add_init_script(FAKE_BRIDGE)
    page = context.new_page()
    bill = Bill.objects.filter(account=billed_account).order_by("pk").first()
    assert bill is not None
    page.goto(f"/portal/pay/wechat/?bill={bill.pk}")
    page.get_by_test_id("wxpay-pay").click()
    page.wait_for_function("() => window.WeixinJSBridge.calls.length === 1")
    page.evaluate("window.WeixinJSBridge.done({ err_msg: 'get_brand_wcpay_request:cancel' })")
    page.get_by_test_id("wxpay-again").wait_for()
    assert "取消" in page.get_by_test_id("wxpay-status").inner_text()
    page.get_by_test_id("wxpay-again").click()
    page.wait_for_function("() => window.WeixinJSBridge.calls.length === 2")
    assert PaymentOrder.objects.get().status == OrderStatus.CREATED
    context.close()
