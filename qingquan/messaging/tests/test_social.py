"""Weibo and the Alipay life account (issue 19 item 7): the poller takes each platform's
messages and mentions after its cursor through one adapter interface, each once per the
platform's message id, as contacts for agents; an agent's answer goes out through the
adapter as an outbox row (a comment under the post that mentioned us, a private message,
an Alipay customer message), retried when the platform fails. All against the fake."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client

from qingquan.core import clock, outbox
from qingquan.messaging.models import Inbound, InboundKind, Message, MessageStatus, PollCursor
from qingquan.messaging.poller import poll_all, poll_feed
from qingquan.messaging.social import alipay_sign
from qingquan.tickets.models import Contact

pytestmark = pytest.mark.django_db


def drain() -> int:
    return outbox.dispatch_once(worker="w1")


def test_the_poller_takes_each_message_once_after_its_cursor(social: Any) -> None:
    m1 = social.weibo_post("5012345678", "江北小王", "@宁波水务 槐树路水压低", mention=True)
    social.weibo_post("5087654321", "海曙居民", "水表箱盖子坏了找谁修？")
    social.alipay_post("2088102177846880", "陈**", "发票在哪里下载？")
    done = {p.feed: p.taken for p in poll_all()}
    assert done == {"weibo.mentions": 1, "weibo.messages": 1, "alipay.messages": 1}
    mention = Inbound.objects.get(channel="weibo", kind=InboundKind.MENTION)
    assert mention.provider_id == f"s{m1}" and mention.sender == "5012345678"
    assert mention.sender_name == "江北小王" and "水压低" in mention.text
    contact = Contact.objects.get(pk=mention.contact_id or 0)
    assert contact.channel == "weibo" and contact.customer_id is None
    alipay = Inbound.objects.get(channel="alipay")
    assert Contact.objects.get(pk=alipay.contact_id or 0).channel == "alipay"
    assert PollCursor.objects.get(feed="weibo.mentions").cursor == m1
    # The next poll asks only for what came after the cursor, and takes nothing twice.
    assert sum(p.taken for p in poll_all()) == 0
    assert ("mentions", m1) in social.polls
    m2 = social.weibo_post("5012345678", "江北小王", "还没恢复", mention=True)
    assert [p.taken for p in poll_all()] == [1, 0, 0]
    assert PollCursor.objects.get(feed="weibo.mentions").cursor == m2
    # A cursor lost (or two pollers at once): the platform's ids keep each message once.
    PollCursor.objects.update(cursor="")
    assert sum(p.taken for p in poll_all()) == 0
    assert Inbound.objects.count() == 4 and Contact.objects.count() == 4


def test_a_platform_that_fails_keeps_the_cursor(social: Any, settings: Any) -> None:
    social.weibo_post("5012345678", "小王", "你好", mention=True)
    settings.MESSAGING = {**settings.MESSAGING, "WEIBO_ACCESS_TOKEN": "wrong"}
    polled = poll_feed(channel="weibo", feed="mentions")
    assert polled.taken == 0 and "21332" in polled.error
    row = PollCursor.objects.get(feed="weibo.mentions")
    assert row.cursor == "" and "invalid_access_token" in row.last_error
    settings.MESSAGING = {**settings.MESSAGING, "ALIPAY_LIFE_KEY": "not-the-key"}
    polled = poll_feed(channel="alipay", feed="messages")
    assert "sign check fail" in polled.error and not Inbound.objects.exists()
    settings.MESSAGING = {**settings.MESSAGING, "WEIBO_ACCESS_TOKEN": "fake"}
    assert poll_feed(channel="weibo", feed="mentions").taken == 1


def test_unconfigured_platforms_are_not_polled(settings: Any) -> None:
    settings.MESSAGING = {**settings.MESSAGING, "WEIBO_ENDPOINT": "", "ALIPAY_LIFE_ENDPOINT": ""}
    assert poll_all() == []
    out = StringIO()
    call_command("messaging_poll", stdout=out)
    assert "no platform is configured" in out.getvalue()


def test_agents_answer_through_the_adapter_with_retries(
    social: Any, agent: Any, client: Client
) -> None:
    post = social.weibo_post("5012345678", "江北小王", "@宁波水务 槐树路水压低", mention=True)
    social.weibo_post("5087654321", "海曙居民", "水表箱盖子坏了")
    social.alipay_post("2088102177846880", "陈**", "发票在哪里下载？")
    call_command("messaging_poll", stdout=StringIO())
    client.force_login(agent)
    page = client.get("/messaging/inbox/").content.decode()
    assert "江北小王 (5012345678)" in page and "发票在哪里下载" in page
    assert page.count('data-testid="inbox-feed"') == 3
    answers = {
        ("weibo", "mention"): "已通知江北营业所，今晚恢复。",
        ("weibo", "message"): "请拨打 96390 预约维修。",
        ("alipay", "message"): "在生活号“我的发票”中下载。",
    }
    for item in Inbound.objects.all():
        r = client.post(
            f"/messaging/inbox/{item.pk}/answer/", {"answer": answers[(item.channel, item.kind)]}
        )
        assert r.status_code == 302
    assert Message.objects.filter(source="messaging.answer").count() == 3
    social.fail_next = 1  # the first send fails: it waits and is tried again
    drain()
    assert Message.objects.filter(status=MessageStatus.PENDING, attempts=1).count() == 1
    with time_machine.travel(clock.now() + dt.timedelta(seconds=11)):
        drain()
    assert Message.objects.filter(status=MessageStatus.SENT).count() == 3
    sent = {(s["channel"], s["kind"]): s for s in social.sent}
    assert sent[("weibo", "comment")]["to"] == post  # under the post that mentioned us
    assert sent[("weibo", "message")]["to"] == "5087654321"
    assert sent[("alipay", "message")]["to"] == "2088102177846880"
    assert sent[("alipay", "message")]["text"] == answers[("alipay", "message")]
    assert len(social.sent) == 3


def test_a_repeated_send_is_recorded_once(social: Any, agent: Any) -> None:
    from qingquan.messaging.inbound import inbound_answer

    social.weibo_post("5087654321", "海曙居民", "你好")
    poll_all()
    item = Inbound.objects.get()
    inbound_answer(actor=agent, inbound=item, text="您好，请讲。")
    drain()
    message = Message.objects.get(source="messaging.answer")
    # The worker died after sending: sent again, the platform refuses the repeat, which
    # counts as sent (Weibo 20019), and the public gets one answer.
    Message.objects.filter(pk=message.pk).update(status=MessageStatus.PENDING, in_doubt=True)
    drain()
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT and len(social.sent) == 1


def test_the_poll_button_and_the_inbox_access(social: Any, agent: Any, make_user: Any) -> None:
    from qingquan.staff.roles import Role

    social.alipay_post("2088102177846880", "陈**", "停水了吗")
    crew = Client()
    crew.force_login(make_user(Role.CREW))
    assert crew.post("/messaging/inbox/poll/").status_code == 403
    assert not Inbound.objects.exists()
    client = Client()
    client.force_login(agent)
    assert client.get("/messaging/inbox/poll/").status_code == 405
    r = client.post("/messaging/inbox/poll/", follow=True)
    assert "停水了吗" in r.content.decode() and Inbound.objects.count() == 1


def test_the_alipay_sign() -> None:
    params = {"app_id": "a", "method": "m", "biz_content": "{}", "sign": "x", "empty": ""}
    same = alipay_sign({k: v for k, v in params.items() if k not in ("sign", "empty")}, "k")
    assert alipay_sign(params, "k") == same != alipay_sign(params, "other")


def test_the_worker_polls_every_minute(social: Any) -> None:
    from qingquan.core import periodic
    from qingquan.messaging.tasks import poll_social

    job = periodic.REGISTRY["qingquan.messaging.tasks.poll_social"]
    assert job.seconds == 60
    social.weibo_post("5087654321", "海曙居民", "你好")
    assert poll_social.func() == 1 and poll_social.func() == 0
