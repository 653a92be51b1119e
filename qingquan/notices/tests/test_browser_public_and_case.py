"""In headless Chromium: the public notices page draws each notice's area on a map (no
tiles, no personal data) and a click opens the notice; on the plain case form an agent who
identifies the caller by an account inside an active notice sees the notice first, and the
case keeps the account. Both languages. With QINGQUAN_SHOTS_DIR set, screenshots go there.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from qingquan.notices import services
from qingquan.notices.tests.conftest import NEAR_J1, when

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def shot(page: Any, name: str) -> None:
    folder = os.environ.get("QINGQUAN_SHOTS_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.set_viewport_size({"width": 1400, "height": 900})
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def _context(browser: Any, live_server: Any, language: str) -> Any:
    context = browser.new_context(base_url=live_server.url, locale="zh-CN")
    context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    context.set_default_timeout(15_000)
    return context


def _publish(notice: Any, supervisor: Any) -> None:
    services.notice_submit(actor=supervisor, notice=notice)
    services.notice_approve(actor=supervisor, notice=notice)


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_public_map_shows_each_notices_area(
    browser: Any, live_server: Any, make_user: Any, town: Any, draft: Any, language: str
) -> None:
    supervisor = make_user("supervisor")
    _publish(draft, supervisor)  # pipe P4: three accounts at one spot → a marker
    lon, lat = NEAR_J1["longitude"], NEAR_J1["latitude"]
    drawn = services.notice_create(
        actor=supervisor,
        kind="low_pressure",
        title="药行街降压供水",
        area_source="polygon",
        area={
            "polygon": [[lon - 0.001, lat - 0.001], [lon + 0.001, lat - 0.001], [lon, lat + 0.001]]
        },
        starts_at=when(1),
        expected_end_at=when(5),
        reason="泵站检修",
    )
    _publish(drawn, supervisor)
    context = _context(browser, live_server, language)
    page = context.new_page()
    page.goto("/public/notices/")
    page.get_by_test_id("notices-map").wait_for()
    page.wait_for_function("document.getElementById('notices-map').dataset.areas === '2'")
    areas = page.locator("[data-testid=map-area]")
    assert areas.count() == 2
    assert {areas.nth(i).get_attribute("data-notice") for i in range(2)} == {
        draft.number,
        drawn.number,
    }
    assert page.locator(".leaflet-tile").count() == 0  # no tiles
    source = page.content()
    for private in ("13900000002", "王小明", "宁波市第一医院", "3302990002", "0401"):
        assert private not in source
    suffix = "" if language == "zh-hans" else "-en"
    shot(page, f"notices-public-map{suffix}")
    page.locator(f"[data-testid=map-area][data-notice='{drawn.number}']").click(force=True)
    popup = page.locator(".leaflet-popup-content a")
    popup.wait_for()
    assert "药行街降压供水" in popup.inner_text()
    popup.click()
    page.wait_for_url(f"**/public/notices/{drawn.number}/")
    page.get_by_test_id("notices-map").wait_for()
    page.wait_for_function("document.getElementById('notices-map').dataset.areas === '1'")
    shot(page, f"notices-public-detail-map{suffix}")
    context.close()


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_case_form_shows_the_callers_notice_first(
    browser: Any, live_server: Any, make_user: Any, town: Any, draft: Any, language: str
) -> None:
    from qingquan.staff.tests.factories import PASSWORD
    from qingquan.tickets.models import Ticket

    _publish(draft, make_user("supervisor"))
    agent = make_user("agent", full_name="陈晓雯")
    context = _context(browser, live_server, language)
    page = context.new_page()
    page.goto("/login/")
    page.fill("input[name=username]", agent.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    page.click("details.navgroup:has(a[href='/cases/new/']) > summary")
    page.click("nav.mainnav a[href='/cases/new/']")
    page.get_by_test_id("new-case").wait_for()
    assert page.get_by_test_id("case-notice").count() == 0
    page.get_by_test_id("find-caller").locator("input[name=account_number]").fill("3302990002")
    page.get_by_test_id("find-caller-button").click()
    notice = page.get_by_test_id("case-notice")
    notice.wait_for()
    assert draft.title in notice.inner_text()
    first = page.locator(
        "[data-testid=case-notice], [data-testid=find-caller], [data-testid=new-case]"
    ).first
    assert first.get_attribute("data-testid") == "case-notice"
    assert "王小明" in page.get_by_test_id("chosen-caller").inner_text()
    suffix = "" if language == "zh-hans" else "-en"
    shot(page, f"notices-case-form{suffix}")
    form = page.get_by_test_id("new-case")
    form.locator("select[name=kind]").select_option("consultation")
    form.locator("input[name=subject]").fill("询问何时恢复供水")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("[data-testid=case-number]")
    ticket = Ticket.objects.get()
    assert ticket.account is not None and ticket.account.number == "3302990002"
    assert ticket.customer == town["wang"]
    context.close()
