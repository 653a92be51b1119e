"""In headless Chromium at 375 × 812 (Chinese UI): in the elder-friendly mode a resident
books a call back with one tap and a home visit on its page; an agent confirms the visit;
the resident's case page shows it confirmed. Screenshots to QINGQUAN_SHOTS_DIR if set."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from qingquan.core import clock
from qingquan.portal import rules, services
from qingquan.portal.models import Appointment, AppointmentStatus, Resident
from qingquan.portal.tests.conftest import PHONE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(os.environ.get("QINGQUAN_SHOTS_DIR", "/nonexistent"))


def shot(page: Any, name: str) -> None:
    if SHOTS.is_dir():
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def as_resident(page: Any, live_server: Any) -> None:
    """A logged-in resident (the login itself has its own browser test)."""
    resident = Resident.objects.create(phone=f"+86{PHONE}", created_at=clock.now())
    key = services.session_start(resident=resident)
    page.context.add_cookies(
        [{"name": rules.COOKIE, "value": key, "url": f"{live_server.url}/portal/"}]
    )


def test_elder_books_a_call_back_in_one_tap_and_a_visit_an_agent_confirms(
    page: Any, live_server: Any, supervisor: Any, agent: Any, login: Any
) -> None:
    page.set_viewport_size({"width": 375, "height": 812})
    as_resident(page, live_server)
    page.goto("/portal/")
    page.get_by_test_id("elder-toggle").click()
    page.get_by_test_id("assist-callback").wait_for()
    shot(page, "portal-elder-home-zh")
    page.get_by_test_id("assist-callback").click()  # one tap
    page.get_by_test_id("appointment").wait_for()
    assert "请给我回电" in page.get_by_test_id("appointment").inner_text()
    assert page.get_by_test_id("appointment-status").inner_text() == "待确认"
    assert page.evaluate("document.documentElement.scrollWidth") <= 375

    page.get_by_test_id("assist-visit").click()
    page.get_by_test_id("assist-form").wait_for()
    page.get_by_test_id("assist-kind-visit").check()
    page.locator("input[name=when]").nth(2).check()
    page.fill("input[name=address]", "药行街20号3单元502")
    shot(page, "portal-elder-assist-zh")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.get_by_test_id("assist-book").click()
    page.get_by_test_id("appointment").wait_for()
    visit = Appointment.objects.get(kind="visit")
    assert visit.address == "药行街20号3单元502"
    case_url = page.url

    login(agent.username)  # the staff login: another cookie, same browser
    page.set_viewport_size({"width": 1280, "height": 800})
    page.click("details.navgroup:has(a[href='/assist/']) > summary")
    page.locator('nav a[href="/assist/"]').click()
    page.wait_for_url("**/assist/")
    assert page.get_by_test_id("assist-row").count() == 2
    shot(page, "staff-assist-zh")
    row = page.get_by_test_id("assist-row").filter(has_text=visit.ticket.number)
    row.get_by_test_id("assist-confirm").click()
    page.wait_for_url("**/assist/")
    assert page.get_by_test_id("assist-row").count() == 1
    visit.refresh_from_db()
    assert visit.status == AppointmentStatus.CONFIRMED

    page.set_viewport_size({"width": 375, "height": 812})
    page.goto(case_url)
    assert page.get_by_test_id("appointment-status").inner_text() == "已确认"
    assert "预约已确认" in page.get_by_test_id("appointment").inner_text()
    shot(page, "portal-elder-case-zh")
