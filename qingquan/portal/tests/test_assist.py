"""Elder-friendly assisted services (issue 19 item 8): one tap books a call back as a case
with an appointment; a visit or pick-up on its page; an agent confirms (note on the case,
SMS to the resident) and the case page tracks it."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from qingquan.console.models import CaseNote
from qingquan.messaging.models import Message
from qingquan.portal import assist
from qingquan.portal.models import Appointment, AppointmentStatus, CaseLink, Resident
from qingquan.portal.tests.conftest import portal_login

pytestmark = pytest.mark.django_db


def elder(client: Client) -> Client:
    client.post("/portal/elder/", {"on": "1", "next": "/portal/"})
    return client


def test_the_one_tap_button_shows_only_in_elder_mode(resident_client: Client) -> None:
    assert 'data-testid="assist-callback"' not in resident_client.get("/portal/").content.decode()
    elder(resident_client)
    for url in ["/portal/", "/portal/cases/", "/portal/repair/", "/portal/question/"]:
        assert 'data-testid="assist-callback"' in resident_client.get(url).content.decode(), url


def test_one_tap_books_a_call_back_once(resident_client: Client, supervisor: Any) -> None:
    elder(resident_client)
    r = resident_client.post("/portal/assist/", {"kind": "callback", "when": "first"})
    assert r.status_code == 302
    appointment = Appointment.objects.get()
    first_day, first_slot = assist.slots()[0]
    assert (appointment.date, appointment.slot) == (first_day, first_slot)
    assert appointment.status == AppointmentStatus.REQUESTED
    ticket = appointment.ticket
    assert r["Location"] == f"/portal/cases/{ticket.number}/"
    assert ticket.kind.code == "consult-assist" and ticket.channel == "web"
    assert CaseLink.objects.filter(ticket=ticket).exists()
    page = resident_client.get(r["Location"]).content.decode()
    assert 'data-testid="appointment"' in page and "待确认" in page
    # A second tap while it waits books nothing more.
    resident_client.post("/portal/assist/", {"kind": "callback", "when": "first"})
    assert Appointment.objects.count() == 1


def test_a_home_visit_needs_an_address_and_an_offered_time(
    resident_client: Client, supervisor: Any
) -> None:
    day, slot = assist.slots()[3]
    r = resident_client.post("/portal/assist/", {"kind": "visit", "when": f"{day}|{slot}"})
    assert r.status_code == 200 and not Appointment.objects.exists()
    assert "地址" in r.content.decode()
    r = resident_client.post(
        "/portal/assist/", {"kind": "visit", "when": "2020-01-01|am", "address": "药行街20号"}
    )
    assert r.status_code == 200 and not Appointment.objects.exists()
    r = resident_client.post("/portal/assist/", {"kind": "teleport", "when": f"{day}|{slot}"})
    assert r.status_code == 200 and not Appointment.objects.exists()
    r = resident_client.post(
        "/portal/assist/", {"kind": "visit", "when": f"{day}|{slot}", "address": "药行街20号"}
    )
    assert r.status_code == 302
    got = Appointment.objects.get()
    assert (got.kind, got.date, got.slot, got.address) == ("visit", day, slot, "药行街20号")


def test_an_agent_confirms_and_the_case_tracks_it(
    resident_client: Client, supervisor: Any, agent: Any, make_user: Any
) -> None:
    day, slot = assist.slots()[1]
    resident_client.post(
        "/portal/assist/", {"kind": "pickup", "when": f"{day}|{slot}", "address": "药行街20号"}
    )
    appointment = Appointment.objects.get()
    staff = Client()
    staff.force_login(make_user("crew"))
    assert staff.get("/assist/").status_code == 403
    staff.force_login(agent)
    page = staff.get("/assist/").content.decode()
    assert appointment.ticket.number in page
    later, later_slot = assist.slots()[2]
    r = staff.post(
        f"/assist/{appointment.pk}/confirm/",
        {"version": appointment.version, "date": later.isoformat(), "slot": later_slot},
    )
    assert r.status_code == 302
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CONFIRMED
    assert (appointment.date, appointment.slot) == (later, later_slot)
    assert appointment.confirmed_by == agent
    note = CaseNote.objects.get(ticket=appointment.ticket)
    assert note.visibility == "customer" and "接送到营业厅" in note.body
    sms = Message.objects.get(source="portal.assist", source_id=appointment.pk)
    assert sms.to == Resident.objects.get().phone and appointment.ticket.number in sms.body
    # Confirmed once: a second (stale) confirmation is refused with a message, no 500.
    again = staff.post(f"/assist/{appointment.pk}/confirm/", {"version": 1})
    assert again.status_code == 302
    assert Message.objects.filter(source="portal.assist").count() == 1
    case = resident_client.get(f"/portal/cases/{appointment.ticket.number}/").content.decode()
    assert "已确认" in case and "接送到营业厅" in case


def test_another_residents_appointment_is_not_shown(
    resident_client: Client, supervisor: Any
) -> None:
    resident_client.post("/portal/assist/", {"kind": "callback", "when": "first"})
    number = Appointment.objects.get().ticket.number
    other = portal_login(Client(), phone="13922223333")
    assert other.get(f"/portal/cases/{number}/").status_code == 404
