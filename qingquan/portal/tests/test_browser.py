"""In headless Chromium on a phone-sized screen: a resident logs in with the code the fake
SMS gateway got, binds an account, pays a bill in the sandbox and sees it paid."""

from __future__ import annotations

from typing import Any

import pytest

from qingquan.portal.tests.conftest import PHONE, last_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_resident_logs_in_binds_and_pays_on_a_phone(
    page: Any, billed_account: Any, supervisor: Any
) -> None:
    page.set_viewport_size({"width": 375, "height": 812})
    page.goto("/portal/")
    page.wait_for_url("**/portal/login/**")
    page.fill("input[name=phone]", PHONE)
    page.get_by_test_id("send-code").click()
    page.get_by_test_id("verify").wait_for()
    # The demo's fake gateway inbox shows the same SMS the code is read from.
    code = last_code()
    page.fill("input[name=code]", code)
    page.get_by_test_id("verify").click()
    page.wait_for_url("**/portal/")
    assert "绑定户号" in page.content()

    page.get_by_test_id("add-account").click()
    page.fill("input[name=number]", "3302888001")
    page.fill("input[name=name]", "周美华")
    page.locator("[data-testid=bind-form] button[type=submit]").click()
    page.wait_for_url(f"**/portal/accounts/{billed_account.pk}/")
    assert page.locator("[data-testid=bill]").count() == 2
    # No horizontal scrolling at 375 px.
    assert page.evaluate("document.documentElement.scrollWidth") <= 375

    page.get_by_test_id("pay-wechat").click()
    page.wait_for_url("**/payments/sandbox/**")
    page.get_by_test_id("sandbox-pay").click()
    page.wait_for_url(f"**/portal/accounts/{billed_account.pk}/")
    page.get_by_test_id("all-paid").wait_for()
    statuses = page.locator("[data-testid=bill-status]").all_inner_texts()
    assert statuses == ["已缴", "已缴"]


def test_elder_mode_switch(page: Any, supervisor: Any) -> None:
    page.goto("/portal/login/")
    size = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    page.get_by_test_id("elder-toggle").click()
    page.wait_for_load_state()
    assert page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)") > size
    page.reload()
    assert "elder" in (page.locator("body").get_attribute("class") or "")
