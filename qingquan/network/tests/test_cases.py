"""Repair cases on the network (issue 16, item 7): a case's point (premise, address or a
map pin) matched to its nearest pipe and segment, kept current when the segments move;
the merge (并单) offer for a new report inside the isolated area of an open incident
within the window; the screen pop's line; the case page and the API with their access.

The hand-made network (helpers.py): segments {P1 R1 J1}, {P2 J2}, {P3}, {P4 J4},
{P5 P6 P7 J5 J6 J3}. Isolating {P2 J2} cuts off {P3}, {P4 J4} and the loop.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client, override_settings

from qingquan.core import clock
from qingquan.network.models import CaseLocation, LocationSource, Pipe
from qingquan.network.tests.helpers import import_small
from qingquan.staff.roles import Role

pytestmark = pytest.mark.django_db

NEAR_J4 = {"longitude": 121.5541, "latitude": 29.8701}
NEAR_J2 = {"longitude": 121.5519, "latitude": 29.87005}
NEAR_J5 = {"longitude": 121.5521, "latitude": 29.8711}
ON_P2 = (121.5515, 29.87002)  # a pin on P2 between J1 and J2


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def city(tmp_path: Any) -> dict[str, Any]:
    from qingquan.customers.tests.factories import account, customer, premise

    import_small(tmp_path)
    j4, j2, j5 = premise(**NEAR_J4), premise(**NEAR_J2), premise(**NEAR_J5)
    caller = customer(name="李四", phones=("13900001111",))
    return {
        "j4": j4,
        "j2": j2,
        "j5": j5,
        "a4": account(premise=j4, number="3302770004"),
        "a5": account(caller, premise=j5, number="3302770005"),
    }


def _repair(actor: Any, **kwargs: Any) -> Any:
    from qingquan.tickets import services as tickets
    from qingquan.tickets.models import CaseKind

    kind = CaseKind.objects.get(code="repair-burst")
    return tickets.ticket_create(
        actor=actor, kind=kind, channel="phone", subject=kwargs.pop("subject", "爆管"), **kwargs
    )


def _segment(eid: str) -> int:
    return Pipe.objects.get(eid=eid).segment


# Matching ----------------------------------------------------------------------------------
def test_a_repair_case_is_matched_at_its_premise_account_or_address(city, agent):
    at_premise = _repair(agent, premise=city["j4"])
    location = CaseLocation.objects.get(ticket=at_premise)
    assert location.source == LocationSource.PREMISE and location.pipe.eid == "P4"
    assert location.segment == _segment("P4") and location.distance_m < 20
    by_account = CaseLocation.objects.get(ticket=_repair(agent, account=city["a5"]))
    assert by_account.pipe.eid in ("P5", "P6") and by_account.segment == _segment("P5")
    typed = _repair(agent, address=city["j2"].address)
    by_address = CaseLocation.objects.get(ticket=typed)
    assert by_address.source == LocationSource.ADDRESS and by_address.segment == _segment("P2")


def test_no_location_without_a_point_or_for_other_kinds(city, agent):
    from qingquan.tickets import services as tickets
    from qingquan.tickets.models import CaseKind

    nowhere = _repair(agent, address="不存在的地址")
    consultation = tickets.ticket_create(
        actor=agent,
        kind=CaseKind.objects.get(code="consultation"),
        channel="phone",
        subject="咨询",
        premise=city["j4"],
    )
    assert not CaseLocation.objects.filter(ticket__in=[nowhere, consultation]).exists()


def test_a_pin_moves_the_case_and_is_audited(city, agent):
    from qingquan.core.models import AuditEvent
    from qingquan.network.services import NetworkError, case_locate

    case = _repair(agent, premise=city["j4"])
    location = case_locate(actor=agent, ticket=case, lon=ON_P2[0], lat=ON_P2[1])
    assert location is not None and location.source == LocationSource.PIN
    assert location.pipe.eid == "P2" and location.distance_m < 5
    assert AuditEvent.objects.filter(action="network.caselocation.update").count() == 1
    far = case_locate(actor=agent, ticket=case, lon=121.60, lat=29.87)
    assert far is not None and far.pipe is None and far.segment is None
    assert far.distance_m > 1000
    with pytest.raises(NetworkError):
        case_locate(actor=agent, ticket=case, lon=500, lat=29.87)


def test_the_location_follows_the_segments(city, agent, administrator):
    from qingquan.network.models import Valve
    from qingquan.network.services import valve_set_state

    case = _repair(agent, premise=city["j5"])
    before = CaseLocation.objects.get(ticket=case).segment
    assert before == _segment("P5") != _segment("P4")
    valve_set_state(
        actor=administrator, valve=Valve.objects.get(eid="VD"), state="inoperable"
    )  # the loop's segment takes in P4 (and its label, the smallest pipe pk)
    after = CaseLocation.objects.get(ticket=case).segment
    assert after != before and after == _segment("P5") == _segment("P4")


# Merge offer -------------------------------------------------------------------------------
def test_merge_offer_inside_the_incident_within_the_window(city, agent):
    from qingquan.network import selectors

    incident = _repair(agent, premise=city["j2"], subject="解放南路爆管")
    same = _repair(agent, address=city["j2"].address)
    cut_off = _repair(agent, premise=city["j5"])
    [offer] = selectors.merge_offers(user=agent, ticket=same)
    assert offer.number == incident.number and offer.where == "segment"
    # Both earlier open repairs cover the loop (cut off by their isolation): the first
    # report, the incident, comes first.
    downstream = selectors.merge_offers(user=agent, ticket=cut_off)
    assert [h.number for h in downstream] == [incident.number, same.number]
    assert downstream[0].where == "cut_off"
    # The incident upstream is not inside the report's area the other way round.
    assert incident.number not in [
        h.number for h in selectors.merge_offers(user=agent, ticket=incident)
    ]
    # Older than the window: no offer.
    type(incident).objects.filter(pk=incident.pk).update(
        created_at=clock.now() - dt.timedelta(hours=13)
    )
    assert selectors.merge_offers(user=agent, ticket=same) == []
    with override_settings(NETWORK_MERGE_WINDOW_HOURS=24):
        assert [h.number for h in selectors.merge_offers(user=agent, ticket=same)] == [
            incident.number
        ]


def test_one_click_merge_uses_the_tickets_merge(city, agent, make_user):
    from qingquan.tickets.models import Ticket

    other = make_user(Role.AGENT)
    incident = _repair(other, premise=city["j2"])
    report = _repair(agent, premise=city["j2"])
    client = _client(agent)
    page = client.get(f"/cases/{report.number}/").content.decode()
    assert 'data-testid="merge-offer"' in page and incident.number in page
    response = client.post(
        f"/network/cases/{report.number}/merge/",
        {"incident": incident.number, "version": report.version},
    )
    assert response.status_code == 302
    report = Ticket.objects.get(pk=report.pk)
    assert report.parent_id == incident.pk
    assert report.events.filter(action="merge").exists()
    # Merged: no offer any more; a second click is refused with a message.
    page = client.get(f"/cases/{report.number}/").content.decode()
    assert 'data-testid="merge-offer"' not in page
    again = client.post(
        f"/network/cases/{report.number}/merge/",
        {"incident": incident.number, "version": report.version},
        follow=True,
    )
    assert report.number in again.content.decode() and Ticket.objects.get(pk=report.pk).parent_id


def test_merge_refused_for_an_incident_not_offered(city, agent):
    from qingquan.tickets.models import Ticket

    elsewhere = _repair(agent, premise=city["j4"])  # segment {P4 J4}: not J2's
    report = _repair(agent, premise=city["j2"])
    client = _client(agent)
    client.post(
        f"/network/cases/{report.number}/merge/",
        {"incident": elsewhere.number, "version": report.version},
    )
    assert Ticket.objects.get(pk=report.pk).parent_id is None


# Screen pop --------------------------------------------------------------------------------
def test_screen_pop_says_the_address_is_inside_an_incident(city, agent):
    incident = _repair(agent, premise=city["j2"])
    client = _client(agent)
    pop = client.get("/console/lookup/", {"q": "3302770005"}).content.decode()
    assert 'data-testid="pop-incident"' in pop and incident.number in pop
    # Resolved incidents no longer warn.
    type(incident).objects.filter(pk=incident.pk).update(state="closed")
    pop = client.get("/console/lookup/", {"q": "3302770005"}).content.decode()
    assert 'data-testid="pop-incident"' not in pop


def test_screen_pop_slot_by_premise(city, agent, make_user):
    from qingquan.network import selectors

    incident = _repair(agent, premise=city["j4"])
    hits = selectors.incidents_at_premises(
        user=agent, premise_ids=[city["j4"].pk, city["j2"].pk, city["j5"].pk]
    )
    assert list(hits) == [city["j4"].pk] and hits[city["j4"].pk][0].number == incident.number
    crew_reader = make_user(Role.BACK_OFFICE)
    assert selectors.incidents_at_premises(user=crew_reader, premise_ids=[city["j4"].pk]) == {}


# Case page and API -------------------------------------------------------------------------
def test_case_page_shows_pipe_segment_and_affected_customers(city, make_user):
    dispatcher_like = make_user(Role.SUPERVISOR)
    case = _repair(dispatcher_like, premise=city["j2"])
    page = _client(dispatcher_like).get(f"/cases/{case.number}/").content.decode()
    assert 'data-testid="case-network"' in page and "P2" in page
    assert 'data-testid="case-map-link"' in page and "/network/?pipe=P2" in page
    assert 'data-testid="case-by-area"' in page  # J2, J4, J5 premises are without water


def test_case_place_api_and_its_access(city, make_user):
    supervisor = make_user(Role.SUPERVISOR)
    incident = _repair(supervisor, premise=city["j2"])
    case = _repair(supervisor, premise=city["j5"])
    client = _client(supervisor)
    data = client.get(f"/api/v1/network/cases/{case.number}/place").json()
    assert data["source"] == "premise" and data["segment"] == _segment("P5")
    assert data["premises"] >= 1 and data["accounts"] >= 1
    assert [i["number"] for i in data["incidents"]] == [incident.number]
    assert data["incidents"][0]["where"] == "cut_off"
    assert [i["number"] for i in data["merge_offers"]] == [incident.number]
    assert client.get("/api/v1/network/cases/20990101-0001/place").status_code == 404
    agent = _client(make_user(Role.AGENT))
    assert agent.get(f"/api/v1/network/cases/{case.number}/place").status_code == 403
    crew = _client(make_user(Role.CREW))  # sees the network, not this case
    assert crew.get(f"/api/v1/network/cases/{case.number}/place").status_code == 404


def test_console_intake_with_a_map_pin(city, agent):
    from qingquan.tickets.models import Ticket

    client = _client(agent)
    response = client.post(
        "/console/intake/",
        {
            "kind": "repair",
            "subkind": "repair-burst",
            "location": "路面冒水",
            "account": "typed",
            "address": "解放南路口",
            "pin_lon": str(ON_P2[0]),
            "pin_lat": str(ON_P2[1]),
        },
    )
    assert response.status_code == 302
    ticket = Ticket.objects.order_by("-pk").first()
    location = CaseLocation.objects.get(ticket=ticket)
    assert location.source == LocationSource.PIN and location.pipe.eid == "P2"
    bad = client.post(
        "/console/intake/",
        {"kind": "repair", "location": "x", "account": "typed", "pin_lon": "abc", "pin_lat": "1"},
    )
    assert bad.status_code == 400 and Ticket.objects.count() == 1


def test_cases_received_before_any_network_are_placed_by_the_import(tmp_path, agent):
    from qingquan.customers.tests.factories import premise

    case = _repair(agent, premise=premise(**NEAR_J4))
    assert not CaseLocation.objects.filter(ticket=case).exists()
    import_small(tmp_path)
    location = CaseLocation.objects.get(ticket=case)
    assert location.pipe.eid == "P4" and location.segment == _segment("P4")
