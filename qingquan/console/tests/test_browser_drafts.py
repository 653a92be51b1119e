"""In headless Chromium (issue #14 items 1-2): a reload in the middle of an intake finds the
draft (also in a second tab and in another browser, from the server), a refused send says
why, the banner poll never empties a form, ringing shows before the answer, a simulator
call survives navigating away, and time limits read like time on a fixed clock.

The live server is WSGI (no websocket): the console relies on its 3-second banner poll."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine

from qingquan.console.models import Draft
from qingquan.console.tests.conftest import answer_call
from qingquan.console.tests.test_browser import shot
from qingquan.core import clock
from qingquan.telephony import services as telephony

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_reload_mid_intake_finds_the_draft(
    page: Any, browser: Any, live_server: Any, login: Any, make_user: Any, pbx: Any
) -> None:
    agent = make_user("agent", extension="8401", full_name="陈晓雯")
    call = answer_call(pbx, agent, "13911112222")
    login(agent.username)
    page.goto("/console/")
    page.get_by_test_id("intake").wait_for(timeout=15_000)
    page.locator("body").press("4")  # 报修
    page.locator("input[name=location]").fill("药行街20号楼下水表井")
    page.locator("textarea[name=description]").fill("水表井里一直冒水，已经半小时")
    # Two banner polls later the form is untouched (it used to be re-rendered empty).
    page.wait_for_timeout(7_000)
    assert page.locator("input[name=location]").input_value() == "药行街20号楼下水表井"
    assert (
        Draft.objects.get(user=agent, key=f"intake:contact:{call.contact_id}").data["location"]
        == "药行街20号楼下水表井"
    )

    page.reload()
    page.get_by_test_id("intake").wait_for(timeout=15_000)
    page.wait_for_function(
        "() => document.querySelector('input[name=location]').value === '药行街20号楼下水表井'"
    )
    assert page.locator("input[name=kind][value=repair]").is_checked()
    assert "冒水" in page.locator("textarea[name=description]").input_value()
    assert page.get_by_test_id("draft-status").inner_text() == "已恢复未提交的草稿。"
    shot(page, "console-draft-restored")

    # A second tab of the same browser, and another browser (only the server has it).
    second = page.context.new_page()
    second.goto(f"/console/calls/{call.pk}/")
    second.wait_for_function(
        "() => document.querySelector('input[name=location]').value === '药行街20号楼下水表井'"
    )
    other = browser.new_context(locale="en-US", base_url=live_server.url)
    elsewhere = other.new_page()
    elsewhere.goto("/login/")
    elsewhere.fill("input[name=username]", agent.username)
    from qingquan.staff.tests.factories import PASSWORD

    elsewhere.fill("input[name=password]", PASSWORD)
    elsewhere.click("button[type=submit]")
    elsewhere.wait_for_load_state()
    elsewhere.goto(f"/console/calls/{call.pk}/")
    elsewhere.wait_for_function(
        "() => document.querySelector('textarea[name=description]').value.includes('冒水')"
    )
    other.close()

    # Sent: the case opens and the draft is gone from the server.
    page.locator("textarea[name=description]").press("Control+Enter")
    page.wait_for_url("**/cases/*/")
    assert not Draft.objects.filter(user=agent).exists()


def test_a_refused_send_says_why(page: Any, login: Any, make_user: Any, pbx: Any) -> None:
    agent = make_user("agent", extension="8402")
    call = answer_call(pbx, agent, "13911113333")
    login(agent.username)
    page.goto(f"/console/calls/{call.pk}/")
    page.locator("textarea[name=description]").fill("来电者没说清楚")
    page.locator("textarea[name=description]").press("Control+Enter")  # no kind chosen
    error = page.get_by_test_id("intake-error")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=intake-error]').textContent.includes('未提交')"
    )
    assert "类型" in error.inner_text()
    assert page.locator("textarea[name=description]").input_value() == "来电者没说清楚"


def test_ringing_shows_on_the_console_before_the_answer(
    page: Any, login: Any, make_user: Any, pbx: Any
) -> None:
    agent = make_user("agent", extension="8403")
    telephony.agent_state_set(actor=agent, status="available")
    login(agent.username)
    page.goto("/console/")
    assert "当前无来电" in page.get_by_test_id("call-banner").inner_text()
    telephony.call_event_handle(
        pbx=pbx,
        event=telephony.parse_event(
            {
                "event_id": "r1",
                "type": "ring",
                "call_id": "r1",
                "from": "13911114444",
                "extension": "8403",
            }
        ),
    )
    page.wait_for_function(
        "() => document.querySelector('[data-testid=banner-state]') &&"
        " document.querySelector('[data-testid=banner-state]').textContent.includes('来电振铃')",
        timeout=15_000,
    )
    assert "正在呼叫您" in page.get_by_test_id("call-banner").inner_text()
    shot(page, "console-ringing")


def test_a_simulator_call_survives_navigating_away(
    page: Any, browser: Any, live_server: Any, login: Any, make_user: Any
) -> None:
    from qingquan.staff.tests.factories import PASSWORD
    from qingquan.telephony.demo import seed_telephony

    seed_telephony()
    supervisor = make_user("supervisor", full_name="值班长")
    agent = make_user("agent", extension="8404", full_name="话务员乙")
    telephony.agent_state_set(actor=agent, status="available")
    login(supervisor.username)
    page.goto("/telephony/simulator/")
    form = page.get_by_test_id("simulator")
    form.locator("input[name=from]").fill("13700002222")
    form.locator("select[name=extension]").select_option("8404")
    form.locator("button[value=ring]").click()
    page.get_by_test_id("sim-live-call").wait_for()

    agent_context = browser.new_context(locale="zh-CN", base_url=live_server.url)
    console = agent_context.new_page()
    console.goto("/login/")
    console.fill("input[name=username]", agent.username)
    console.fill("input[name=password]", PASSWORD)
    console.click("button[type=submit]")
    console.wait_for_load_state()
    console.goto("/console/")
    console.get_by_test_id("ringing-call").wait_for(timeout=15_000)

    page.goto("/console/wallboard/")  # the supervisor navigates away, and comes back
    page.goto("/telephony/simulator/")
    row = page.get_by_test_id("sim-live-call")
    assert "13700002222" in row.inner_text()
    row.get_by_test_id("sim-answer").click()
    console.get_by_test_id("screen-pop").wait_for(timeout=15_000)
    console.wait_for_function(
        "() => document.querySelector('[data-testid=state-label]').textContent.trim() === '通话中'"
    )
    page.goto("/console/wallboard/")
    assert page.get_by_test_id("calls-in-progress").inner_text() == "1"
    assert page.get_by_test_id("count-on_call").inner_text() == "1"
    shot(page, "wallboard-call-in-progress")
    page.goto("/telephony/simulator/")
    shot(page, "call-simulator-live")
    page.get_by_test_id("sim-live-call").get_by_test_id("sim-hangup").click()
    page.get_by_text("没有进行中的通话。").wait_for()
    console.wait_for_function(
        "() => document.querySelector('[data-testid=banner-state]')"
        ".textContent.includes('话后处理')"
        " && document.querySelector('[data-testid=state-label]').textContent.trim()"
        " === '话后处理'",
        timeout=15_000,
    )
    agent_context.close()


def test_time_limits_read_like_time_on_a_fixed_clock(
    page: Any, live_server: Any, login: Any, make_user: Any
) -> None:
    from qingquan.console import services
    from qingquan.tickets.models import CaseKind

    agent = make_user("agent", full_name="陈晓雯")
    start = dt.datetime(2026, 12, 1, 9, 0, tzinfo=clock.SHANGHAI)  # Tuesday
    with time_machine.travel(start, tick=False) as traveller:
        ticket = services.intake_submit(
            actor=agent,
            intake=services.Intake(
                kind=CaseKind.objects.get(code="complaint-attitude"),
                subject="营业厅态度差",
                caller_phone="13911115555",
            ),
        )
        # 3 working days: due Friday 09:00. Wednesday 15:30: 1 day 17 h 30 min left.
        traveller.move_to(dt.datetime(2026, 12, 2, 15, 30, tzinfo=clock.SHANGHAI))
        login(agent.username)
        page.goto(f"/cases/{ticket.number}/")
        text = page.get_by_test_id("clock-text").inner_text()
        assert "剩余 1 个工作日 17 小时" in text and "已计时 1 个工作日 6 小时" in text
        assert page.get_by_test_id("deadline").inner_text() == "2026-12-04 09:00"
        shot(page, "case-clock-zh")
        # Monday 17:29: Friday 09:00-24:00 and Monday 00:00-17:29 counted past the limit.
        traveller.move_to(dt.datetime(2026, 12, 7, 17, 29, tzinfo=clock.SHANGHAI))
        login(agent.username)  # days later: the session expired meanwhile
        page.goto(f"/console/cases/{ticket.number}/")
        badge = page.get_by_test_id("deadline-badge")
        assert badge.get_attribute("data-state") == "breached"
        assert badge.inner_text() == "2026-12-04 09:00 · 已超时 1 个工作日 8 小时"
        page.goto("/console/cases/")
        assert "已超时 3 天 8 小时" in page.get_by_test_id("mine").inner_text()
        page.context.add_cookies(
            [{"name": "django_language", "value": "en", "url": live_server.url}]
        )
        page.goto(f"/cases/{ticket.number}/")
        text = page.get_by_test_id("clock-text").inner_text()
        assert "1 working day 8 h overdue" in text
        assert page.get_by_test_id("sla-state").inner_text() == "Overdue"
        assert "4 working days 8 h counted" in text
        shot(page, "case-clock-en")
