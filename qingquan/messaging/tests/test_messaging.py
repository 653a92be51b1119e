"""Outbound messages: SMS length, queueing in the caller's transaction (unique per source
and address, opt-outs honoured, quiet hours), sending through the fake Alibaba Cloud SMS
gateway and WeChat server, retries with backoff, receipts, a send whose answer was lost
not repeated, the provider rate."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import time

import pytest
import time_machine
from django.core import mail
from django.test import Client

from qingquan.core import clock, outbox
from qingquan.core.actors import SYSTEM
from qingquan.core.tests.failures import failed_statements
from qingquan.messaging import gateways, rules, services
from qingquan.messaging.models import Message, MessageStatus, OptOut, Receipt
from qingquan.messaging.services import Outgoing

pytestmark = pytest.mark.django_db


def queue(n: int = 3, *, urgent: bool = True, channel: str = "sms", source_id: int = 1) -> int:
    to = (lambda i: f"+86139000{i:05d}") if channel == "sms" else (lambda i: f"oOPENID{i}")
    if channel == "email":
        to = lambda i: f"user{i}@example.com"  # noqa: E731
    return services.messages_queue(
        source="test",
        source_id=source_id,
        urgent=urgent,
        messages=[
            Outgoing(
                channel=channel,
                to=to(i),
                template="notice_published",
                body="停水通知",
                params={"area": "海曙区"},
            )
            for i in range(n)
        ],
    )


def drain(now=None) -> int:
    return outbox.dispatch_once(worker="w1", now=now)


def test_sms_length_and_segments(settings):
    settings.MESSAGING = {**settings.MESSAGING, "SMS_SIGN_NAME": "宁波水务"}
    assert rules.sms_length("停水") == (8, 1)
    assert rules.sms_length("水" * 64) == (70, 1)
    assert rules.sms_length("水" * 65) == (71, 2)
    assert rules.sms_length("水" * 128) == (134, 2)
    assert rules.sms_length("水" * 129) == (135, 3)


def test_quiet_hours():
    night = dt.datetime(2026, 12, 3, 23, 0, tzinfo=clock.SHANGHAI)
    early = dt.datetime(2026, 12, 4, 6, 59, tzinfo=clock.SHANGHAI)
    day = dt.datetime(2026, 12, 4, 7, 0, tzinfo=clock.SHANGHAI)
    seven = dt.datetime(2026, 12, 4, 7, tzinfo=clock.SHANGHAI)
    assert rules.quiet_until(night) == seven and rules.quiet_until(early) == seven
    assert rules.quiet_until(day) is None
    assert rules.first_send_at(night, urgent=True) == night


def test_queued_once_per_source_and_address_and_opt_outs_honoured():
    services.optout_set(actor=SYSTEM, channel="sms", address="+8613900000001", how="回T")
    assert queue(3) == 2
    assert queue(3) == 0  # the same source again: nothing
    assert Message.objects.count() == 2


def test_a_second_opt_out_changes_nothing_and_is_no_database_error():
    assert services.optout_set(actor=SYSTEM, channel="sms", address="+8613900000009")
    with failed_statements() as failed:
        again = services.optout_set(actor=SYSTEM, channel="sms", address="+8613900000009")
    assert again is None
    assert OptOut.objects.filter(address="+8613900000009").count() == 1
    assert not failed


def test_sent_through_the_fake_gateway_with_receipts(gateway, client: Client):
    queue(3)
    assert drain() == 3
    assert Message.objects.filter(status=MessageStatus.SENT).count() == 3
    assert len(gateway.received) == 3
    got = gateway.received[0]
    assert got["sign"] and got["template"] == "SMS_QQ_NOTICE_PUBLISHED"
    assert got["params"] == {"area": "海曙区"} and got["to"].startswith("139")
    # The receipts come back in Alibaba Cloud's push format.
    gateway.receipts_to = "http://testserver/messaging/receipts"
    import json

    reports = [
        {
            "out_id": r["out_id"],
            "biz_id": r["ref"],
            "success": True,
            "err_code": "DELIVERED",
            "report_time": "2026-12-03 10:00:00",
        }
        for r in gateway.received
    ]
    answer = client.post(
        "/messaging/receipts/sms/",
        json.dumps(reports),
        content_type="application/json",
        HTTP_X_QINGQUAN_RECEIPT_TOKEN="t",
    )
    assert answer.json() == {"code": 0, "msg": "成功"}
    assert Message.objects.filter(receipt=Receipt.DELIVERED).count() == 3
    refused = client.post("/messaging/receipts/sms/", "[]", content_type="application/json")
    assert refused.status_code == 403


def test_the_fake_gateway_posts_receipts_itself(gateway, live_server):
    gateway.receipts_to = f"{live_server.url}/messaging/receipts"
    queue(2)
    queue(1, channel="wechat", source_id=2)
    drain()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if Message.objects.filter(receipt=Receipt.DELIVERED).count() == 3:
            break
        time.sleep(0.2)
    assert Message.objects.filter(receipt=Receipt.DELIVERED).count() == 3


def test_gateway_errors_wait_and_retry_with_backoff(gateway):
    queue(2)
    gateway.fail_next = 2
    drain()
    rows = list(Message.objects.all())
    assert all(m.status == MessageStatus.PENDING and m.attempts == 1 for m in rows)
    assert all("503" in m.last_error or "Server" in m.last_error or m.last_error for m in rows)
    assert drain() == 0  # not due yet: backoff
    with time_machine.travel(clock.now() + dt.timedelta(seconds=11)):
        assert drain() == 2
        assert drain() == 0
    assert len(gateway.received) == 2
    assert Message.objects.filter(status=MessageStatus.SENT, attempts=2).count() == 2


def test_a_permanent_error_fails_at_once(gateway):
    services.messages_queue(
        source="test",
        source_id=9,
        urgent=True,
        messages=[Outgoing(channel="sms", to="not-a-phone", template="t", body="b")],
    )
    drain()
    m = Message.objects.get()
    assert m.status == MessageStatus.FAILED and "MOBILE_NUMBER_ILLEGAL" in m.last_error


def test_a_message_in_doubt_is_looked_up_not_sent_again(gateway):
    queue(1)
    drain()
    m = Message.objects.get()
    # As if the worker died after the gateway took it and before recording the answer.
    Message.objects.filter(pk=m.pk).update(status=MessageStatus.PENDING, in_doubt=True)
    drain()
    m.refresh_from_db()
    assert m.status == MessageStatus.SENT and len(gateway.received) == 1
    # In doubt but never received: sent now.
    queue(1, source_id=2)
    fresh = Message.objects.get(source_id=2)
    Message.objects.filter(pk=fresh.pk).update(in_doubt=True)
    drain()
    assert len(gateway.received) == 2


def test_opt_out_after_queueing_suppresses(gateway):
    queue(2)
    services.optout_set(actor=SYSTEM, channel="sms", address="+8613900000000")
    drain()
    assert Message.objects.filter(status=MessageStatus.SUPPRESSED).count() == 1
    assert len(gateway.received) == 1
    assert OptOut.objects.count() == 1


def test_non_urgent_messages_due_in_quiet_hours_wait(gateway, settings):
    settings.MESSAGING = {**settings.MESSAGING, "QUIET_HOURS": (22, 7)}
    queue(1, urgent=False)
    night = dt.datetime(2026, 12, 11, 23, 0, tzinfo=clock.SHANGHAI)
    Message.objects.update(next_attempt_at=night - dt.timedelta(minutes=1))
    with time_machine.travel(night, tick=False):
        drain(now=night)
    m = Message.objects.get()
    assert m.status == MessageStatus.PENDING
    assert m.next_attempt_at == dt.datetime(2026, 12, 12, 7, tzinfo=clock.SHANGHAI)
    assert gateway.received == []


def test_wechat_and_email(gateway):
    queue(2, channel="wechat", source_id=3)
    queue(1, channel="email", source_id=4)
    drain()
    assert Message.objects.filter(status=MessageStatus.SENT).count() == 3
    assert [r["channel"] for r in gateway.received] == ["wechat", "wechat"]
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["user0@example.com"]


def test_the_send_rate_is_throttled(gateway, settings):
    settings.MESSAGING = {**settings.MESSAGING, "RATE_PER_SECOND": {"sms": 50}}
    rules.THROTTLES.clear()
    queue(40)
    started = time.monotonic()
    while drain():
        pass
    elapsed = time.monotonic() - started
    assert len(gateway.received) == 40
    assert elapsed >= 39 / 50 * 0.9  # 50/s: at least ~0.8 s for 40


def test_the_throttle_lets_at_most_fifty_milliseconds_of_sends_catch_up(monkeypatch):
    # After a pause (a worker claiming its next batch) ten sends at 200/s go at once,
    # then they are paced again, 5 ms apart. A fake clock: sleeping moves it on.
    now = [1000.0]
    monkeypatch.setattr(rules.time, "monotonic", lambda: now[0])
    monkeypatch.setattr(rules.time, "sleep", lambda s: now.__setitem__(0, now[0] + s))
    throttle = rules.Throttle()
    for _ in range(10):
        throttle.wait(200)
    assert now[0] == 1000.0
    for _ in range(200):
        throttle.wait(200)
    assert now[0] == pytest.approx(1001.0)
    now[0] += 10  # an hour's idleness earns no more than the bucket holds
    started = now[0]
    for _ in range(210):
        throttle.wait(200)
    assert now[0] - started == pytest.approx(1.0)
    # A slow channel (20/s: 50 ms apart) is paced one by one.
    slow = rules.Throttle()
    started = now[0]
    for _ in range(3):
        slow.wait(20)
    assert now[0] - started == pytest.approx(0.1)


def test_a_slow_provider_gets_several_requests_at_once(settings, monkeypatch):
    # A 30 ms round trip at 200/s (5 ms apart): one at a time the rate would be 33/s.
    from qingquan.messaging import sender

    settings.MESSAGING = {
        **settings.MESSAGING,
        "RATE_PER_SECOND": {"sms": 200},
        "SEND_CONCURRENCY": 4,
    }
    rules.THROTTLES.clear()
    in_flight, most = [0], [0]

    class Slow:
        def send(self, message):
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
            time.sleep(0.03)
            in_flight[0] -= 1
            return gateways.Result(ok=True, ref=f"ref-{message.pk}")

        def lookup(self, message):
            return None

    monkeypatch.setattr(sender, "gateway", lambda channel: Slow())
    queue(12)
    while drain():
        pass
    assert Message.objects.filter(status=MessageStatus.SENT).count() == 12
    assert most[0] > 1


def test_aliyun_string_to_sign_matches_the_documented_example():
    # The SendSms example of Alibaba Cloud's RPC signature documentation.
    params = {
        "AccessKeyId": "testid",
        "Action": "SendSms",
        "Format": "XML",
        "OutId": "123",
        "PhoneNumbers": "15300000001",
        "RegionId": "cn-hangzhou",
        "SignName": "阿里云短信测试专用",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
        "SignatureVersion": "1.0",
        "TemplateCode": "SMS_71390007",
        "TemplateParam": '{"customer":"test"}',
        "Timestamp": "2017-07-12T02:42:19Z",
        "Version": "2017-05-25",
    }
    expected = (
        "GET&%2F&AccessKeyId%3Dtestid%26Action%3DSendSms%26Format%3DXML%26OutId%3D123"
        "%26PhoneNumbers%3D15300000001%26RegionId%3Dcn-hangzhou%26SignName%3D%25E9%2598%25BF"
        "%25E9%2587%258C%25E4%25BA%2591%25E7%259F%25AD%25E4%25BF%25A1%25E6%25B5%258B%25E8"
        "%25AF%2595%25E4%25B8%2593%25E7%2594%25A8%26SignatureMethod%3DHMAC-SHA1"
        "%26SignatureNonce%3D45e25e9b-0a6f-4070-8c85-2956eda1b466%26SignatureVersion%3D1.0"
        "%26TemplateCode%3DSMS_71390007%26TemplateParam%3D%257B%2522customer%2522%253A"
        "%2522test%2522%257D%26Timestamp%3D2017-07-12T02%253A42%253A19Z%26Version%3D2017-05-25"
    )
    assert gateways.aliyun_string_to_sign(params, "GET") == expected
    digest = hmac.new(b"testsecret&", expected.encode(), hashlib.sha1).digest()
    assert (
        gateways.aliyun_signature(params, "testsecret", "GET") == base64.b64encode(digest).decode()
    )


def test_a_reply_t_unsubscribes_the_number(client: Client):
    import json

    rows = [
        {"phone_number": "13900000005", "content": "T", "send_time": "2026-12-03 10:00:00"},
        {"phone_number": "13900000006", "content": "收到", "send_time": "2026-12-03 10:00:00"},
    ]
    answer = client.post(
        "/messaging/replies/sms/",
        json.dumps(rows),
        content_type="application/json",
        HTTP_X_QINGQUAN_RECEIPT_TOKEN="fake-receipts",
    )
    assert answer.json()["code"] == 0
    assert list(OptOut.objects.values_list("address", flat=True)) == ["+8613900000005"]
    assert queue(7) == 6  # +8613900000005 is left out
