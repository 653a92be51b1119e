"""In headless Chromium: a Weibo mention and an Alipay life-account message wait at the
fake platforms; the agent fetches them into the messages inbox, answers the mention, and
the answer goes out through the Weibo adapter as a comment under the post."""

from __future__ import annotations

from typing import Any

import pytest

from qingquan.core import outbox
from qingquan.messaging.models import Message, MessageStatus

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_an_agent_answers_a_weibo_mention(
    page: Any,
    login: Any,
    agent: Any,
    social: Any,
    lang: str,
) -> None:
    post = social.weibo_post("5012345678", "江北小王", "@宁波水务 槐树路水压低", mention=True)
    social.alipay_post("2088102177846880", "陈**", "发票在哪里下载？")
    login(agent.username)
    if lang == "en":
        page.context.add_cookies([{"name": "django_language", "value": "en", "url": page.url}])
    page.goto("/messaging/inbox/")
    assert page.get_by_test_id("inbox-row").count() == 0
    assert page.get_by_test_id("inbox-feed").count() == 3
    page.get_by_test_id("inbox-poll").click()
    page.wait_for_url("**/messaging/inbox/")
    rows = page.get_by_test_id("inbox-row")
    assert rows.count() == 2
    row = rows.filter(has_text="槐树路水压低")
    assert "江北小王 (5012345678)" in row.inner_text()
    assert ("微博" if lang == "zh-hans" else "Weibo") in row.inner_text()
    row.locator("textarea").fill("已通知江北营业所，今晚恢复。")
    row.locator("button[type=submit]:not([name])").click()
    page.wait_for_url("**/messaging/inbox/")
    assert page.get_by_test_id("inbox-row").count() == 1
    answer = Message.objects.get(source="messaging.answer")
    assert answer.channel == "weibo" and answer.params["kind"] == "mention"
    outbox.dispatch_once(worker="w1")
    answer.refresh_from_db()
    assert answer.status == MessageStatus.SENT
    assert social.sent == [
        {
            "channel": "weibo",
            "kind": "comment",
            "to": post,
            "text": "已通知江北营业所，今晚恢复。",
            "ref": answer.provider_ref,
        }
    ]
