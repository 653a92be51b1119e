"""In headless Chromium: an agent looks a caller up by phone, opens the customer and reads
the bills with their tier breakdown, in the Chinese UI."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from qingquan.core.actors import SYSTEM
from qingquan.customers import services
from qingquan.customers.tests import factories as f

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_agent_finds_a_caller_by_phone_and_reads_the_bills(
    page: Any, login: Any, agent: Any
) -> None:
    cust = f.customer(name="周美华", phones=("13566667777",))
    acc = f.account(cust, number="3302888001", road="药行街20号")
    f.read(acc, dt.date(2023, 1, 31), "22")
    f.read(acc, dt.date(2023, 2, 28), "41")
    for start, end in [((2023, 1, 1), (2023, 1, 31)), ((2023, 2, 1), (2023, 2, 28))]:
        services.bill_issue(
            actor=SYSTEM, account=acc, period_start=dt.date(*start), period_end=dt.date(*end)
        )

    login(agent.username)
    page.locator('nav a[href="/customers/"]').click()
    page.wait_for_url("**/customers/")
    page.get_by_placeholder("电话、户号或地址").fill("135 6666 7777")
    page.locator("form[role=search] button[type=submit]").click()
    card = page.get_by_test_id("customer-card")
    card.wait_for()
    assert "周美华" in card.inner_text()
    assert page.get_by_test_id("phone").inner_text() == "135****7777"
    assert "13566667777" not in page.content()

    card.get_by_role("link", name="周美华").click()
    page.wait_for_url(f"**/customers/{cust.pk}/")
    bills = page.get_by_test_id("bill")
    assert bills.count() == 2
    assert "19.000" in bills.first.inner_text()  # February's volume
    assert "第 1 阶梯" in bills.first.inner_text()
    assert page.get_by_test_id("total-balance").inner_text() == "¥123.00"
    page.get_by_text("费用构成").first.click()
    assert "污水处理费" in page.get_by_test_id("bills").inner_text()
