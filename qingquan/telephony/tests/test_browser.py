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
