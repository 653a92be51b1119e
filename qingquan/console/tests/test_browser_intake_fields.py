"""The intake form shows only the fields that follow the chosen kind: a stylesheet rule
used to defeat the per-kind hiding, so a repair showed the subject field too and Tab from
the location landed in it."""

from __future__ import annotations

from typing import Any

import pytest

from qingquan.console.tests.conftest import answer_call

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_repair_shows_the_location_and_not_the_subject(
    page: Any, login: Any, make_user: Any, pbx: Any, known_caller: Any
) -> None:
    agent = make_user("agent", extension="8202")
    login(agent.username)
    page.goto("/console/")
    page.get_by_test_id("console").wait_for()
    answer_call(pbx, agent, "13566667777")
    page.get_by_test_id("screen-pop").wait_for(timeout=15_000)
    page.locator("body").press("4")  # 报修
    location = page.locator("input[name=location]")
    subject = page.locator("input[name=subject]")
    assert location.is_visible()
    assert not subject.is_visible()
    location.focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") != "subject"
    # 咨询: the subject follows, the location does not.
    page.locator("input[name=kind][value=consultation]").check()
    assert subject.is_visible() and not location.is_visible()
