"""In headless Chromium (Chinese UI): an SMS reply that is not a callback answer waits in
the messages inbox (the 'Calls' menu); the agent answers it and the answer is queued as an
SMS to the sender."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from qingquan.messaging.inbound import Arrived, inbound_receive
from qingquan.messaging.models import Message

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(os.environ.get("QINGQUAN_SHOTS_DIR", "/nonexistent"))


def shot(page: Any, name: str) -> None:
    if SHOTS.is_dir():
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_an_agent_answers_an_sms_reply_from_the_inbox(
    page: Any, login: Any, agent: Any, lang: str
) -> None:
    inbound, _new = inbound_receive(
        message=Arrived(
            channel="sms", provider_id="b-1", sender="13900001111", text="停水什么时候恢复？"
        )
    )
    login(agent.username)
    if lang == "en":
        page.context.add_cookies([{"name": "django_language", "value": "en", "url": page.url}])
        page.reload()
    page.click("details.navgroup:has(a[href='/messaging/inbox/']) > summary")
    page.locator('nav a[href="/messaging/inbox/"]').click()
    page.wait_for_url("**/messaging/inbox/")
    row = page.get_by_test_id("inbox-row")
    assert "停水什么时候恢复" in row.inner_text()
    assert "139****1111" in row.inner_text()  # agents see numbers masked
    shot(page, f"messaging-inbox-{lang}")
    row.locator("textarea").fill("预计今晚 8 点恢复供水。")
    row.locator("button[type=submit]:not([name])").click()
    page.wait_for_url("**/messaging/inbox/")
    assert page.get_by_test_id("inbox-row").count() == 0
    assert "预计今晚 8 点恢复供水" in page.get_by_test_id("inbox-answered").inner_text()
    sent = Message.objects.get(source="messaging.answer", source_id=inbound.pk)
    assert sent.to == "+8613900001111" and sent.channel == "sms"
