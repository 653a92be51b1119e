"""Callback requests in the console: take one (it is yours), call back through the phone
system, record the outcome; repeated and late steps change nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from qingquan.core.models import AuditEvent
from qingquan.staff.roles import Role
from qingquan.telephony import callbacks, services
from qingquan.telephony.ivr import ivr_pbx
from qingquan.telephony.models import (
    Call,
    CallbackRequest,
    CallbackStatus,
    CallState,
    Direction,
)
from qingquan.tickets.models import Contact

T0 = dt.datetime(2026, 12, 2, 2, 0, tzinfo=dt.UTC)
DIALED: list[dict[str, str]] = []


def fake_dial(*, call_id: str, extension: str, number: str) -> None:
    """The test dialer: remembers what the phone system was asked to dial."""
    DIALED.append({"call_id": call_id, "extension": extension, "number": number})


@pytest.fixture
def dialer(settings: Any) -> list[dict[str, str]]:
    settings.TELEPHONY_DIALER = "qingquan.telephony.tests.test_callbacks.fake_dial"
    DIALED.clear()
    return DIALED


def request(number: str = "13800005678", skill: str = "repair") -> CallbackRequest:
    return CallbackRequest.objects.create(number=number, skill=skill, created_at=T0)


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_taking_a_request_makes_it_yours_and_nobody_elses(make_user: Any) -> None:
    one, two = make_user(Role.AGENT), make_user(Role.AGENT)
    item = request()
    taken = callbacks.callback_take(actor=one, request_pk=item.pk)
    assert taken.status == CallbackStatus.TAKEN and taken.assignee == one
    # The same click twice changes nothing; someone else is refused.
    assert callbacks.callback_take(actor=one, request_pk=item.pk).taken_at == taken.taken_at
    with pytest.raises(services.TelephonyError):
        callbacks.callback_take(actor=two, request_pk=item.pk)
    with pytest.raises(services.TelephonyError):
        callbacks.callback_finish(actor=two, request_pk=item.pk, outcome="reached")
    assert AuditEvent.objects.filter(action="telephony.callback.take").count() == 1
    assert CallbackRequest.objects.get().assignee == one


@pytest.mark.django_db
def test_call_back_goes_through_the_phone_system_and_its_answer_is_the_contact(
    make_user: Any, dialer: list[dict[str, str]], django_capture_on_commit_callbacks: Any
) -> None:
    agent = make_user(Role.AGENT, extension="8001")
    item = request()
    callbacks.callback_take(actor=agent, request_pk=item.pk)
    with django_capture_on_commit_callbacks(execute=True):
        call = callbacks.callback_dial(actor=agent, request_pk=item.pk)
    assert dialer == [{"call_id": call.call_id, "extension": "8001", "number": "13800005678"}]
    assert call.direction == Direction.OUTBOUND and call.state == CallState.RINGING
    # While it rings, a second dial is refused (one call at a time).
    with pytest.raises(services.TelephonyError):
        callbacks.callback_dial(actor=agent, request_pk=item.pk)
    # The phone system reports the answer and the hang-up.
    for kind, second in (("answer", 5), ("hangup", 65)):
        event = services.EventIn.model_validate(
            {
                "event_id": f"{call.call_id}-{kind}",
                "type": kind,
                "call_id": call.call_id,
                "extension": "8001",
                "at": call.rang_at + dt.timedelta(seconds=second),
            }
        )
        services.call_event_handle(pbx=ivr_pbx(), event=event)
    done = callbacks.callback_finish(actor=agent, request_pk=item.pk, outcome="reached")
    assert done.status == CallbackStatus.DONE and done.outcome == "reached"
    contact = Contact.objects.get()
    assert done.contact == contact and contact.agent == agent and contact.duration_seconds == 60
    # A late second outcome changes nothing.
    with pytest.raises(services.TelephonyError):
        callbacks.callback_finish(actor=agent, request_pk=item.pk, outcome="no_answer")
    assert CallbackRequest.objects.get().outcome == "reached"


@pytest.mark.django_db
def test_without_a_dialer_calling_back_is_refused_and_nothing_is_written(
    make_user: Any, settings: Any
) -> None:
    settings.TELEPHONY_DIALER = ""
    agent = make_user(Role.AGENT, extension="8001")
    item = request()
    callbacks.callback_take(actor=agent, request_pk=item.pk)
    with pytest.raises(services.TelephonyError):
        callbacks.callback_dial(actor=agent, request_pk=item.pk)
    assert Call.objects.count() == 0


@pytest.mark.django_db
def test_no_answer_puts_it_back_until_the_last_attempt(make_user: Any, settings: Any) -> None:
    settings.TELEPHONY_CALLBACK_ATTEMPTS = 2
    one, two = make_user(Role.AGENT), make_user(Role.AGENT)
    item = request()
    callbacks.callback_take(actor=one, request_pk=item.pk)
    again = callbacks.callback_finish(actor=one, request_pk=item.pk, outcome="no_answer")
    assert again.status == CallbackStatus.OPEN and again.assignee is None and again.attempts == 1
    callbacks.callback_take(actor=two, request_pk=item.pk)
    last = callbacks.callback_finish(actor=two, request_pk=item.pk, outcome="no_answer")
    assert last.status == CallbackStatus.DONE and last.attempts == 2
    assert Contact.objects.filter(agent__in=[one, two]).count() == 2
    with pytest.raises(services.TelephonyError):
        callbacks.callback_finish(actor=two, request_pk=item.pk, outcome="bogus")


@pytest.mark.django_db
def test_the_callback_page_for_agents_with_masked_numbers(make_user: Any) -> None:
    agent = make_user(Role.AGENT)
    item = request()
    client = _client(agent)
    page = client.get("/telephony/callbacks/").content.decode()
    assert "13800005678" not in page and "5678" in page
    assert "抢修报修" in page and ">repair<" not in page  # the queue by its name
    assert (
        client.post("/telephony/callbacks/", {"request": item.pk, "action": "take"}).status_code
        == 302
    )
    assert CallbackRequest.objects.get().assignee == agent
    bad = client.post("/telephony/callbacks/", {"request": "x", "action": "take"})
    assert bad.status_code == 400
    refused = client.post(
        "/telephony/callbacks/", {"request": item.pk, "action": "finish", "outcome": "??"}
    )
    assert refused.status_code == 400 and CallbackRequest.objects.get().status == "taken"
    assert _client(make_user(Role.CREW)).get("/telephony/callbacks/").status_code == 403
