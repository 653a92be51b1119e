"""In headless Chromium: an agent answers a call from a customer inside an active notice;
the screen pop shows the notice first, and one key records "已告知停水" with no case. The
notice page (progress, reach) and the public page, in Chinese and English. With
QINGQUAN_SCREENSHOTS=1 the screens are saved to docs/screenshots/."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from qingquan.console.tests.conftest import answer_call
from qingquan.notices import services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"


def shot(page: Any, name: str) -> None:
    if os.environ.get("QINGQUAN_SCREENSHOTS") != "1":
        return
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1400, "height": 900})
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_screen_pop_of_a_caller_inside_an_active_notice(
    browser: Any, live_server: Any, make_user: Any, pbx: Any, town: Any, draft: Any, language: str
) -> None:
    from qingquan.staff.tests.factories import PASSWORD
    from qingquan.tickets.models import Ticket

    supervisor = make_user("supervisor")
    services.notice_submit(actor=supervisor, notice=draft)
    services.notice_approve(actor=supervisor, notice=draft)
    context = browser.new_context(base_url=live_server.url, locale="zh-CN")
    context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    page = context.new_page()
    page.goto("/login/")
    agent = make_user("agent", extension="8201", full_name="陈晓雯")
    page.fill("input[name=username]", agent.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    page.goto("/console/")
    page.get_by_test_id("console").wait_for()
    answer_call(pbx, agent, "13900000002")
    notice = page.get_by_test_id("pop-notice")
    notice.wait_for(timeout=15_000)
    assert draft.title in notice.inner_text()
    # First: the notice comes before the customer's card.
    first = page.locator("[data-testid=pop-notice], [data-testid=pop-customer]").first
    assert first.get_attribute("data-testid") == "pop-notice"
    suffix = "" if language == "zh-hans" else "-en"
    shot(page, f"notices-screen-pop{suffix}")
    page.get_by_test_id("told-button").click()
    page.get_by_test_id("told").wait_for()
    draft.refresh_from_db()
    assert draft.calls == 1 and Ticket.objects.count() == 0
    # The notice page and the public page.
    page.goto(f"/notices/{draft.pk}/")
    page.get_by_test_id("progress").wait_for()
    assert page.get_by_test_id("version").count() == 1
    shot(page, f"notices-page{suffix}")
    page.goto("/public/notices/")
    assert page.get_by_test_id("public-notice").count() == 1
    shot(page, f"notices-public{suffix}")
    context.close()
