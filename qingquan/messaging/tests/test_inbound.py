"""SMS replies (issue 19 item 6): the callback survey SMS sent on resolution, a reply "1" /
"2" / "3" recorded as that callback's answer (on the case), any other text a contact that
an agent answers in the messages inbox; each reply recorded once per the gateway's id."""

# ruff: noqa: F811  (the tickets fixtures are imported by name below)
from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.test import Client

from qingquan.core.tests.failures import failed_statements
from qingquan.messaging.inbound import Arrived, inbound_receive
from qingquan.messaging.models import Handling, Inbound, Message
from qingquan.surveys.models import CallbackAttempt, CallbackTask
from qingquan.surveys.services import SURVEY_SMS_SOURCE, sms_answer_of
from qingquan.tickets import services as tickets
from qingquan.tickets.models import Contact, TicketState
from qingquan.tickets.tests.conftest import (  # noqa: F401
    at,
    commit_hooks,
    english,
    immediate_tasks,
    kind,
    new_case,
    org,
    people,
    reference_data,
    sh,
)

pytestmark = pytest.mark.django_db
TOKEN = "fake-receipts"


def resolved(new_case: Any, people: Any, **kwargs: Any) -> Any:
    case = new_case("consultation", **kwargs)
    return tickets.ticket_resolve(
        actor=people["agent"], ticket=case, version=case.version, resolution="已处理"
    )


def push(client: Client, *rows: dict[str, Any], token: str = TOKEN) -> Any:
    return client.post(
        "/messaging/replies/sms/",
        json.dumps(list(rows), ensure_ascii=False),
        content_type="application/json",
        HTTP_X_QINGQUAN_RECEIPT_TOKEN=token,
    )


def reply(seq: str, content: str, phone: str = "13800000000") -> dict[str, Any]:
    return {
        "sequence_id": seq,
        "phone_number": phone,
        "content": content,
        "send_time": "2026-03-02 16:00:00",
        "dest_code": "96390",
    }


@pytest.mark.parametrize(
    ("text", "outcome"),
    [
        ("1", "satisfied"),
        (" １ ", "satisfied"),
        ("1 满意", "satisfied"),
        ("2", "fairly_satisfied"),
        ("基本满意", "fairly_satisfied"),
        ("3。", "dissatisfied"),
        ("不满意", "dissatisfied"),
        ("满意", "satisfied"),
        ("1 不满意", ""),
        ("4", ""),
        ("12", ""),
        ("水还是黄的", ""),
        ("", ""),
    ],
)
def test_what_counts_as_a_survey_answer(text: str, outcome: str) -> None:
    assert sms_answer_of(text) == outcome


def test_resolution_sends_the_survey_sms(at: Any, new_case: Any, people: Any) -> None:
    at(sh(2026, 3, 2, 9))
    case = resolved(new_case, people)
    task = CallbackTask.objects.get(ticket=case)
    sms = Message.objects.get(source=SURVEY_SMS_SOURCE, source_id=task.pk)
    assert sms.to == "+8613800000000" and sms.channel == "sms"
    assert case.number in sms.body and "1 满意 2 基本满意 3 不满意" in sms.body
    # A landline caller gets no SMS (the callback is still made by phone).
    landline = resolved(new_case, people, caller_phone="057487654321")
    landline_task = CallbackTask.objects.get(ticket=landline)
    assert not Message.objects.filter(source=SURVEY_SMS_SOURCE, source_id=landline_task.pk)


def test_a_reply_1_answers_the_callback_once(
    client: Client, at: Any, new_case: Any, people: Any
) -> None:
    at(sh(2026, 3, 2, 9))
    case = resolved(new_case, people)
    at(sh(2026, 3, 2, 16))
    assert push(client, reply("seq-1", "1")).json()["code"] == 0
    task = CallbackTask.objects.get(ticket=case)
    assert task.status == CallbackTask.Status.DONE and task.outcome == "satisfied"
    assert task.via_survey
    case.refresh_from_db()
    assert case.state == TicketState.CLOSED and case.callback_outcome == "satisfied"
    inbound = Inbound.objects.get()
    assert inbound.handled_as == Handling.SURVEY and inbound.callback == task
    # The gateway pushes the same reply again: nothing more is recorded, and the repeat is
    # not an error the database logs and the service catches (no statement refused).
    with failed_statements() as failed:
        assert push(client, reply("seq-1", "1")).json()["code"] == 0
    assert not failed
    assert Inbound.objects.count() == 1
    assert CallbackAttempt.objects.filter(task=task).count() == 1
    # A later "1" (the callback is done) is a message for an agent, not a second answer.
    push(client, reply("seq-2", "1"))
    assert Inbound.objects.get(provider_id="seq-2").handled_as == Handling.CONTACT


def test_a_reply_3_reopens_the_case(client: Client, at: Any, new_case: Any, people: Any) -> None:
    at(sh(2026, 3, 2, 9))
    case = resolved(new_case, people)
    push(client, reply("seq-9", "3 不满意"))
    case.refresh_from_db()
    assert case.state == TicketState.RECEIVED and case.reopen_count == 1
    assert CallbackTask.objects.get(ticket=case).outcome == "dissatisfied"


def test_other_text_is_a_contact_an_agent_answers(
    client: Client, at: Any, new_case: Any, people: Any
) -> None:
    at(sh(2026, 3, 2, 9))
    case = resolved(new_case, people)
    push(client, reply("seq-3", "水还是有点黄，能再来看看吗"))
    inbound = Inbound.objects.get()
    assert inbound.handled_as == Handling.CONTACT
    contact = Contact.objects.get(pk=inbound.contact_id or 0)
    assert contact.channel == "sms" and contact.from_address == "+8613800000000"
    assert "水还是有点黄" in contact.note and list(contact.tickets.all()) == [case]
    task = CallbackTask.objects.get(ticket=case)
    assert task.status == CallbackTask.Status.OPEN  # not an answer: the callback stays due
    # A number that was never sent a survey: "2" is just a message too.
    push(client, reply("seq-4", "2", phone="13900000077"))
    other = Inbound.objects.get(provider_id="seq-4")
    assert other.handled_as == Handling.CONTACT and other.callback is None
    # The agent sees both in the console's messages inbox (numbers masked) and answers.
    client.force_login(people["agent"])
    page = client.get("/messaging/inbox/").content.decode()
    assert "水还是有点黄" in page and case.number in page
    assert "138****0000" in page and "13800000000" not in page
    done = client.post(f"/messaging/inbox/{inbound.pk}/answer/", {"answer": "明天上午再派人来"})
    assert done.status_code == 302
    answer = Message.objects.get(source="messaging.answer", source_id=inbound.pk)
    assert answer.to == "+8613800000000" and answer.body == "明天上午再派人来"
    inbound.refresh_from_db()
    assert inbound.answered_by == people["agent"]
    # Answered once; "no answer needed" sends nothing.
    again = client.post(f"/messaging/inbox/{inbound.pk}/answer/", {"answer": "再说一次"})
    assert again.status_code == 302
    assert Message.objects.filter(source="messaging.answer").count() == 1
    client.post(f"/messaging/inbox/{other.pk}/answer/", {"none": "1"})
    other.refresh_from_db()
    assert other.answered_at is not None and other.answer == ""
    assert Message.objects.filter(source="messaging.answer").count() == 1
    page = client.get("/messaging/inbox/").content.decode()
    assert 'data-testid="inbox-row"' not in page


def test_the_inbox_is_for_console_users(client: Client, people: Any) -> None:
    inbound, _ = inbound_receive(
        message=Arrived(channel="sms", provider_id="x1", sender="13900000001", text="你好")
    )
    client.force_login(people["crew"])
    assert client.get("/messaging/inbox/").status_code == 403
    assert client.post(f"/messaging/inbox/{inbound.pk}/answer/", {"answer": "x"}).status_code == 403
    assert not Message.objects.filter(source="messaging.answer").exists()


def test_bad_pushes_are_refused_without_writing(client: Client) -> None:
    assert push(client, reply("a", "你好"), token="wrong").status_code == 403
    bad = client.post(
        "/messaging/replies/sms/",
        b"{not json",
        content_type="application/json",
        HTTP_X_QINGQUAN_RECEIPT_TOKEN=TOKEN,
    )
    assert bad.status_code == 400
    assert push(client, reply("b", "你好", phone="not-a-number")).json()["code"] == 0
    assert not Inbound.objects.exists() and not Contact.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_fake_gateway_pushes_replies(
    gateway: Any, live_server: Any, at: Any, new_case: Any, people: Any
) -> None:
    gateway.replies_to = f"{live_server.url}/messaging/replies"
    case = resolved(new_case, people)
    row = gateway.reply("13800000000", "2")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not Inbound.objects.exists():
        time.sleep(0.1)
    assert CallbackTask.objects.get(ticket=case).outcome == "fairly_satisfied"
    assert gateway.push_reply(row) == 200  # the same reply pushed again
    assert Inbound.objects.count() == 1
