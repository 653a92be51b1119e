"""In headless Chromium, in Chinese and English: each role's view of a customer's numbers
on the pages issue #13 found leaking (the console's case contacts, the admin's customer
phones), and the administrators' log of who saw a full number."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from qingquan.core import exposure
from qingquan.staff.tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(os.environ.get("QINGQUAN_SCREENSHOTS", "/tmp/qingquan-screenshots"))
K = exposure.KNOWN


def _as(browser: Any, live_server: Any, user: Any, locale: str) -> Any:
    context = browser.new_context(
        locale=locale, base_url=live_server.url, viewport={"width": 1366, "height": 768}
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto("/login/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)


@pytest.mark.parametrize("locale", ["zh-CN", "en-US"])
def test_each_role_sees_numbers_as_its_right_allows(
    browser: Any, live_server: Any, locale: str
) -> None:
    seeded = exposure.seed()
    for user in seeded.users.values():
        if user is not None:
            user.set_password(PASSWORD)
            user.save(update_fields=["password"])
    ticket = seeded.objects["tickets.ticket"]
    phone = seeded.objects["customers.customerphone"]
    masked = "137****4321"

    agent = _as(browser, live_server, seeded.users["agent"], locale)
    agent.goto(f"/console/cases/{ticket.number}/")
    contacts = agent.get_by_test_id("contact").first.inner_text()
    assert masked in contacts and K.caller_phone not in agent.content()
    _shot(agent, f"console-case-agent-{locale}")

    supervisor = _as(browser, live_server, seeded.users["supervisor"], locale)
    supervisor.goto(f"/console/cases/{ticket.number}/")
    assert K.caller_phone in supervisor.get_by_test_id("contact").first.inner_text()
    _shot(supervisor, f"console-case-supervisor-{locale}")

    dispatcher = _as(browser, live_server, seeded.users["dispatcher"], locale)
    dispatcher.goto("/admin/customers/customerphone/")
    assert "139****5678" in dispatcher.content() and K.phone not in dispatcher.content()
    _shot(dispatcher, f"admin-phones-dispatcher-{locale}")
    dispatcher.goto(f"/admin/customers/customerphone/{phone.pk}/change/")
    assert "139****5678" in dispatcher.content() and K.phone not in dispatcher.content()
    _shot(dispatcher, f"admin-phone-change-dispatcher-{locale}")
    dispatcher.goto(f"/admin/customers/customerphone/{phone.pk}/history/")
    assert K.phone not in dispatcher.content()

    administrator = _as(browser, live_server, seeded.users["administrator"], locale)
    administrator.goto("/admin/customers/disclosure/")
    rows = administrator.locator("#result_list tbody tr")
    assert rows.count() >= 1
    listing = administrator.locator("#result_list").inner_text()
    assert seeded.users["supervisor"].get_full_name() in listing
    assert K.caller_phone not in listing  # the log names numbers masked
    _shot(administrator, f"admin-disclosures-administrator-{locale}")
