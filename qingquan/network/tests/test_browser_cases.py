"""In headless Chromium (Chinese UI): an agent answers a second burst report from a caller
whose premise lies in the segment of an open incident. The screen pop says the address is
inside the incident's isolated area; after intake the case page shows the pipe, the
segment and who loses water, and offers the merge (并单) into the incident; one click
merges it. With QINGQUAN_SCREENSHOTS=1 the pop and the case page are saved to
docs/screenshots/ in Chinese and English."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from qingquan.console.tests.conftest import answer_call, case_kinds, pbx  # noqa: F401
from qingquan.network.tests.helpers import import_small
from qingquan.staff.roles import Role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"
NEAR_J2 = {"longitude": 121.5519, "latitude": 29.87005}  # in segment {P2 J2}


def _shots(browser: Any, live_server: Any, agent: Any, pop_url: str, case_url: str) -> None:
    """The pop and a case page with its merge offer, in both languages (on request)."""
    from qingquan.staff.tests.factories import PASSWORD

    if os.environ.get("QINGQUAN_SCREENSHOTS") != "1":
        return
    SHOTS.mkdir(parents=True, exist_ok=True)
    for locale, lang in (("zh-CN", "zh-hans"), ("en-US", "en")):
        context = browser.new_context(
            locale=locale, base_url=live_server.url, viewport={"width": 1366, "height": 768}
        )
        context.add_cookies([{"name": "django_language", "value": lang, "url": live_server.url}])
        page = context.new_page()
        page.goto("/login/")
        page.fill("input[name=username]", agent.username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        page.goto(pop_url)
        page.get_by_test_id("pop-incident").first.wait_for()
        page.screenshot(path=str(SHOTS / f"network-case-pop.{lang}.png"), full_page=True)
        page.goto(case_url)
        page.get_by_test_id("merge-offer").wait_for()
        page.screenshot(path=str(SHOTS / f"network-case-page.{lang}.png"), full_page=True)
        context.close()


def test_agent_takes_a_second_burst_report_and_merges_it_into_the_incident(
    page: Any,
    browser: Any,
    live_server: Any,
    login: Any,
    make_user: Any,
    pbx: Any,  # noqa: F811
    tmp_path: Any,
) -> None:
    from qingquan.customers.tests import factories as cf
    from qingquan.tickets import services as tickets
    from qingquan.tickets.models import CaseKind, Ticket

    import_small(tmp_path)
    first_caller = cf.account(premise=cf.premise(**NEAR_J2, room="0201"), number="3302990001")
    caller = cf.customer(name="吴建国", phones=("13512345678",))
    cf.account(caller, premise=cf.premise(**NEAR_J2, room="0202"), number="3302990002")
    other_agent = make_user(Role.AGENT)
    incident = tickets.ticket_create(
        actor=other_agent,
        kind=CaseKind.objects.get(code="repair-burst"),
        channel="phone",
        subject="解放南路爆管",
        account=first_caller,
        premise=first_caller.premise,
    )
    agent = make_user("agent", extension="8201", full_name="陈晓雯")
    login(agent.username)
    page.goto("/console/")
    page.get_by_test_id("console").wait_for()
    answer_call(pbx, agent, "13512345678")

    pop = page.get_by_test_id("screen-pop")
    pop.wait_for(timeout=15_000)
    line = page.get_by_test_id("pop-incident")
    assert incident.number in line.inner_text() and "隔离区域" in line.inner_text()

    page.locator("body").press("4")  # 报修
    page.locator("select[name=subkind]").select_option("repair-burst")
    page.locator("input[name=location]").fill("解放南路12号门口路面冒水")
    page.get_by_test_id("intake-submit").click()
    page.wait_for_url("**/cases/*/")
    report = Ticket.objects.exclude(pk=incident.pk).get()
    place = page.get_by_test_id("case-network")
    assert "P2" in page.get_by_test_id("case-pipe").inner_text()
    assert page.get_by_test_id("case-accounts").inner_text() == "2"
    offer = place.get_by_test_id("merge-offer")
    assert incident.number in offer.inner_text()

    second = tickets.ticket_create(  # for the screenshots: an offer still open
        actor=agent,
        kind=CaseKind.objects.get(code="repair-burst"),
        channel="phone",
        subject="解放南路停水",
        premise=first_caller.premise,
    )
    _shots(browser, live_server, agent, "/console/lookup/?q=3302990002", f"/cases/{second.number}/")

    offer.get_by_test_id("merge-offer-button").click()
    page.wait_for_url(f"**/cases/{report.number}/")
    assert f"已并入事件 {incident.number}" in page.locator("body").inner_text() or (
        incident.number in page.get_by_test_id("facts").inner_text()
    )
    report.refresh_from_db()
    assert report.parent_id == incident.pk
    assert page.get_by_test_id("merge-offer").count() == 0


def test_dispatcher_follows_the_case_page_link_to_the_plan_on_the_map(
    page: Any, login: Any, make_user: Any, tmp_path: Any
) -> None:
    from qingquan.customers.tests import factories as cf
    from qingquan.tickets import services as tickets
    from qingquan.tickets.models import CaseKind

    import_small(tmp_path)
    premise = cf.premise(**NEAR_J2, room="0301")
    supervisor = make_user(Role.SUPERVISOR)
    case = tickets.ticket_create(
        actor=supervisor,
        kind=CaseKind.objects.get(code="repair-burst"),
        channel="phone",
        subject="爆管",
        premise=premise,
    )
    login(supervisor.username)
    page.goto(f"/cases/{case.number}/")
    page.get_by_test_id("case-map-link").click()
    page.wait_for_url("**/network/?pipe=P2")
    page.wait_for_function("() => document.getElementById('netmap').dataset.plan === 'P2'")
    assert page.get_by_test_id("plan").get_attribute("data-pipe") == "P2"
