"""In headless Chromium (Chinese UI): a supervisor opens the IVR flow, makes a test call with
the keypad, and rolls a change back."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_flow_editor_test_call_and_rollback(
    page: Any, login: Any, supervisor: Any, standard_flow: Any
) -> None:
    login(supervisor.username)
    page.goto("/telephony/simulator/")
    page.get_by_test_id("ivr-flows").click()
    page.get_by_role("link", name="标准流程").click()
    page.wait_for_url("**/telephony/flows/edit/?flow=standard")
    keypad = page.get_by_test_id("keypad")
    keypad.get_by_role("button", name="不按键").click()
    keypad.get_by_role("button", name="不按键").click()
    keypad.get_by_role("button", name="不按键").click()
    assert page.get_by_test_id("test-keys").input_value().split() == ["-", "-", "-"]
    page.get_by_test_id("test-call-form").get_by_role("button", name="拨打").click()
    log = page.get_by_test_id("test-call-log")
    log.wait_for()
    assert "欢迎致电清泉供水服务热线" in log.inner_text()
    assert "q_general" in page.get_by_test_id("test-call-ending").inner_text()

    form = page.get_by_test_id("flow-form")
    text = form.locator("textarea").input_value()
    form.locator("textarea").fill(text.replace('"start": "greeting"', '"start": "main"', 1))
    form.locator("input[name=note]").fill("跳过问候语")
    form.get_by_role("button", name="保存为新版本").click()
    versions = page.get_by_test_id("versions")
    versions.get_by_text("跳过问候语").wait_for()
    versions.get_by_role("button", name="回滚到此版本").first.click()
    page.get_by_test_id("versions").get_by_text("回滚到版本 1").wait_for()
    assert (
        '"start": "greeting"' in page.get_by_test_id("flow-form").locator("textarea").input_value()
    )


def test_agent_takes_a_callback_calls_back_and_records_the_outcome(
    page: Any, login: Any, make_user: Any, settings: Any
) -> None:
    from qingquan.core import clock
    from qingquan.staff.roles import Role
    from qingquan.telephony.models import CallbackRequest
    from qingquan.telephony.tests.test_callbacks import DIALED

    settings.TELEPHONY_DIALER = "qingquan.telephony.tests.test_callbacks.fake_dial"
    DIALED.clear()
    agent = make_user(Role.AGENT, extension="8001")
    CallbackRequest.objects.create(number="13800005678", skill="repair", created_at=clock.now())
    login(agent.username)
    page.goto("/console/")
    page.get_by_test_id("callbacks-link").click()
    waiting = page.get_by_test_id("callbacks-waiting")
    assert "5678" in waiting.inner_text() and "13800005678" not in waiting.inner_text()
    waiting.get_by_role("button", name="领取").click()
    mine = page.get_by_test_id("callback-mine")
    mine.wait_for()
    mine.get_by_role("button", name="回拨").click()
    page.get_by_test_id("callback-mine").wait_for()
    assert DIALED and DIALED[0]["extension"] == "8001"
    row = page.get_by_test_id("callback-mine")
    row.locator("select[name=outcome]").select_option("reached")
    row.locator("input[name=note]").fill("已答复停水时间")
    row.get_by_role("button", name="记录结果").click()
    page.get_by_test_id("callbacks-done").get_by_text("已联系上来电人").wait_for()
    assert CallbackRequest.objects.get().status == "done"


def test_the_wallboard_shows_a_line_down(page: Any, login: Any, supervisor: Any) -> None:
    from qingquan.telephony import health

    health.line_health_report(line="line2", up=False, detail="baresip process ended")
    login(supervisor.username)
    page.goto("/console/wallboard/")
    banner = page.get_by_test_id("line-faults")
    banner.wait_for()
    assert "line2" in banner.inner_text() and "人工坐席队列" in banner.inner_text()


def test_the_case_page_plays_a_recording_at_another_speed(
    page: Any, login: Any, supervisor: Any, make_user: Any, settings: Any, tmp_path: Any
) -> None:
    import shutil
    import subprocess

    from qingquan.core import clock
    from qingquan.core.actors import SYSTEM
    from qingquan.staff.roles import Role
    from qingquan.telephony import recordings
    from qingquan.tickets.models import CaseKind, Channel
    from qingquan.tickets.services import contact_record, ticket_create

    if shutil.which("sox") is None:
        pytest.skip("sox is not installed")
    settings.TELEPHONY_RECORDING_DIR = tmp_path
    tone = tmp_path / "tone.wav"
    subprocess.run(
        ["sox", "-n", "-r", "8000", "-c", "1", str(tone), "synth", "5", "sine", "440"],
        check=True,
    )
    stored = recordings.store([tone], tmp_path / "call-1-seat.wav")
    ticket = ticket_create(
        actor=make_user(Role.AGENT),
        kind=CaseKind.objects.get(code="complaint"),
        channel="phone",
        subject="服务态度",
        caller_phone="13800000000",
    )
    contact_record(
        actor=SYSTEM,
        channel=Channel.PHONE,
        started_at=clock.now(),
        recording_ref=str(stored),
        tickets=[ticket],
    )
    login(supervisor.username)
    page.goto(f"/console/cases/{ticket.number}/")
    player = page.get_by_test_id("recording")
    player.get_by_role("button", name="1.5×").click()
    assert player.locator("audio").evaluate("a => a.playbackRate") == 1.5
    assert player.get_by_role("button", name="1.5×").get_attribute("aria-pressed") == "true"
    player.get_by_role("button", name="0.75×").click()
    assert player.locator("audio").evaluate("a => a.playbackRate") == 0.75
