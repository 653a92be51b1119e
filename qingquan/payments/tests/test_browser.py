"""In headless Chromium: the agent shows a caller the payment QR code from the console
and sees it paid; a resident asks for paper invoices by courier on a 375 px phone and
follows the parcel the back office dispatched; a refund asked by the back office and
approved by a supervisor; a day reconciled on the staff page. With
QINGQUAN_SHOTS_DIR set, the pages are saved there in both languages."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from qingquan.customers.models import Bill
from qingquan.payments.models import PaymentOrder, Refund
from qingquan.portal.tests.conftest import PHONE, last_code
from qingquan.staff.roles import Role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def shot(page: Any, name: str, langs: tuple[str, ...] = ("zh-hans", "en")) -> None:
    target = os.environ.get("QINGQUAN_SHOTS_DIR")
    if not target:
        return
    Path(target).mkdir(parents=True, exist_ok=True)
    if len(langs) == 1:  # a page answering a POST: as it is, no reload
        page.screenshot(path=f"{target}/{name}-{langs[0]}.png", full_page=True)
        return
    for lang in langs:
        page.context.add_cookies([{"name": "django_language", "value": lang, "url": page.url}])
        page.reload()
        page.screenshot(path=f"{target}/{name}-{lang}.png", full_page=True)
    page.context.add_cookies([{"name": "django_language", "value": "zh-hans", "url": page.url}])
    page.reload()


def _portal_login(page: Any) -> None:
    page.goto("/portal/login/")
    page.fill("input[name=phone]", PHONE)
    page.get_by_test_id("send-code").click()
    page.get_by_test_id("verify").wait_for()
    page.fill("input[name=code]", last_code())
    page.get_by_test_id("verify").click()
    page.wait_for_url("**/portal/")


def test_agent_shows_the_payment_qr_and_sees_it_paid(
    page: Any, login: Any, make_user: Any, billed_account: Any
) -> None:
    agent = make_user(Role.AGENT)
    login(agent.username)
    page.goto("/console/lookup/?q=3302888001")
    with page.context.expect_page() as opened:
        page.get_by_test_id("pop-pay-qr").first.click()
    qr_page = opened.value
    qr_page.get_by_test_id("console-pay-form").wait_for()
    shot(qr_page, "console-pay-form")
    qr_page.get_by_test_id("console-make-qr").click()
    qr_page.get_by_test_id("console-qr-image").wait_for()
    qr_page.get_by_test_id("console-waiting").wait_for()
    scan = qr_page.get_by_test_id("console-qr").get_attribute("data-scan")
    assert scan and "/payments/sandbox/" in scan
    shot(qr_page, "console-pay-qr", ("zh-hans",))
    # The caller's phone scans the code and pays in the sandbox.
    phone = page.context.browser.new_page()
    phone.goto(scan)
    phone.get_by_test_id("sandbox-pay").click()
    phone.get_by_test_id("sandbox-paid").wait_for()
    phone.close()
    qr_page.get_by_test_id("console-paid").wait_for(timeout=10_000)  # htmx poll
    assert all(b.status == "paid" for b in Bill.objects.filter(account=billed_account))


def test_paper_invoice_by_courier_on_a_phone(
    page: Any, browser: Any, live_server: Any, make_user: Any, billed_account: Any
) -> None:
    from qingquan.staff.tests.factories import PASSWORD

    make_user(Role.SUPERVISOR)
    page.set_viewport_size({"width": 375, "height": 812})
    _portal_login(page)
    page.goto("/portal/accounts/add/")
    page.fill("input[name=number]", "3302888001")
    page.fill("input[name=name]", "周美华")
    page.locator("[data-testid=bind-form] button[type=submit]").click()
    page.wait_for_url(f"**/portal/accounts/{billed_account.pk}/")
    page.get_by_test_id("pay-wechat").click()
    page.get_by_test_id("sandbox-pay").click()
    page.get_by_test_id("all-paid").wait_for()
    page.get_by_test_id("paper-link").click()
    page.wait_for_url("**/portal/paper-invoices/")
    assert page.get_by_test_id("paper-bill").count() == 2
    page.get_by_test_id("paper-bill").first.check()
    page.fill("#paper-recipient", "周美华")
    page.fill("#paper-address", "海曙区药行街20号3单元")
    assert "10.00" in page.get_by_test_id("paper-fee").inner_text()
    page.get_by_test_id("paper-submit").click()
    page.get_by_test_id("parcel").wait_for()
    assert page.get_by_test_id("parcel-status").inner_text() == "已申请"
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    shot(page, "portal-paper-invoices")
    # The back office records the courier and the tracking number.
    office = browser.new_context(locale="zh-CN", base_url=live_server.url)
    staff = office.new_page()
    user = make_user(Role.BACK_OFFICE)
    staff.goto("/login/")
    staff.fill("input[name=username]", user.username)
    staff.fill("input[name=password]", PASSWORD)
    staff.click("button[type=submit]")
    staff.wait_for_load_state()
    staff.goto("/payments/staff/paper/")
    staff.get_by_test_id("parcel-courier").fill("顺丰速运")
    staff.get_by_test_id("parcel-tracking").fill("SF1234567890")
    staff.get_by_test_id("parcel-dispatch").click()
    staff.get_by_test_id("parcel-delivered").wait_for()
    shot(staff, "staff-paper-invoices")
    office.close()
    page.reload()
    assert "SF1234567890" in page.get_by_test_id("parcel-tracking").inner_text()
    assert page.get_by_test_id("parcel-status").inner_text() == "已寄出"


def test_refund_asked_approved_and_a_day_reconciled(
    page: Any, login: Any, make_user: Any, billed_account: Any
) -> None:
    from qingquan.payments.providers import SandboxProvider
    from qingquan.payments.services import notify_handle, order_create

    make_user(Role.SUPERVISOR)
    order = order_create(
        resident=None,
        bills=list(Bill.objects.filter(account=billed_account)),
        provider_name="wechat",
    )
    headers, body = SandboxProvider("wechat").charge(order)
    notify_handle(provider_name="wechat", headers=headers, body=body)
    office = make_user(Role.BACK_OFFICE)
    login(office.username)
    page.goto("/")
    page.locator("details.navgroup summary", has_text="管理").click()
    page.locator(".navmenu").get_by_role("link", name="在线缴费").click()
    page.get_by_test_id("refund-order").fill(order.out_trade_no)
    page.get_by_role("button", name="查找订单").click()
    page.get_by_test_id("refund-amount").fill("5.00")
    page.get_by_test_id("refund-reason").fill("柜台重复缴费")
    page.get_by_test_id("refund-submit").click()
    page.get_by_test_id("refund-waiting").wait_for()
    shot(page, "staff-refund-waiting")
    page.context.clear_cookies()
    boss = make_user(Role.SUPERVISOR)
    login(boss.username)
    refund = Refund.objects.get()
    page.goto(f"/payments/staff/refunds/{refund.pk}/")
    page.get_by_test_id("refund-approve").click()
    page.wait_for_load_state()
    assert page.get_by_test_id("refund-status").inner_text() == "已退款"
    shot(page, "staff-refund-done")
    assert PaymentOrder.objects.get().status == "paid"  # partly refunded
    page.context.clear_cookies()
    login(office.username)
    page.goto("/payments/staff/reconciliation/")
    page.get_by_test_id("reconcile-run").click()
    page.get_by_test_id("differences").wait_for()
    shot(page, "staff-reconciliation")
