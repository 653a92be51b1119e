"""A repair case's pin set or moved after intake (issue 16, item 7): `PUT
/api/v1/network/cases/{number}/place` matches the point again to its nearest pipe and
segment, audited; a point far from every pipe is a 422 with the distance; access is
`network.view` plus a case the caller may see. And the pin dropped on the plain staff
form `/cases/new/`, written in the case's transaction.

The hand-made network of helpers.py: P2 runs from J1 (121.551, 29.870) to J2 (121.552,
29.870), P4 from J3 to J4 (121.554, 29.870).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client

from qingquan.network.models import CaseLocation, LocationSource, Pipe
from qingquan.network.tests.helpers import import_small
from qingquan.staff.roles import Role

pytestmark = pytest.mark.django_db

ON_P2 = (121.5515, 29.87002)
NEAR_J4 = {"longitude": 121.5541, "latitude": 29.8701}
FAR = (121.60, 29.87)  # about 4.4 km east of J4


def _client(user: Any, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.cookies["django_language"] = language  # pages ignore Accept-Language
    client.force_login(user)
    return client


def _put(client: Client, number: str, lon: float, lat: float) -> Any:
    return client.put(
        f"/api/v1/network/cases/{number}/place",
        json.dumps({"longitude": lon, "latitude": lat}),
        content_type="application/json",
    )


def _repair(actor: Any, code: str = "repair-burst", **kwargs: Any) -> Any:
    from qingquan.tickets import services as tickets
    from qingquan.tickets.models import CaseKind

    return tickets.ticket_create(
        actor=actor,
        kind=CaseKind.objects.get(code=code),
        channel="phone",
        subject=kwargs.pop("subject", "爆管"),
        **kwargs,
    )


@pytest.fixture
def network(tmp_path: Any) -> None:
    import_small(tmp_path)


def test_put_moves_the_pin_rematches_and_is_audited(network, supervisor):
    from qingquan.core.models import AuditEvent
    from qingquan.customers.tests.factories import premise

    case = _repair(supervisor, premise=premise(**NEAR_J4))
    assert CaseLocation.objects.get(ticket=case).pipe.eid == "P4"
    response = _put(_client(supervisor), case.number, *ON_P2)
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["source"] == "pin" and data["pipe"] == "P2"
    assert data["segment"] == Pipe.objects.get(eid="P2").segment
    assert data["distance_m"] < 5 and (data["lon"], data["lat"]) == ON_P2
    location = CaseLocation.objects.get(ticket=case)
    assert location.source == LocationSource.PIN and location.pipe.eid == "P2"
    event = AuditEvent.objects.get(action="network.caselocation.update")
    assert event.before["by"] == "premise" and event.before["pipe"] == Pipe.objects.get(eid="P4").pk
    assert event.after["pipe"] == Pipe.objects.get(eid="P2").pk and event.after["lon"] == ON_P2[0]


def test_put_places_a_case_never_located(network, supervisor):
    case = _repair(supervisor, address="不存在的地址")
    assert not CaseLocation.objects.filter(ticket=case).exists()
    data = _put(_client(supervisor), case.number, *ON_P2).json()
    assert data["pipe"] == "P2" and data["source"] == "pin"
    assert CaseLocation.objects.get(ticket=case).pipe.eid == "P2"


WORDS = [("en", "from the nearest pipe"), ("zh-hans", "米")]


@pytest.mark.parametrize(("language", "words"), WORDS)
def test_a_point_far_from_every_pipe_is_a_422_with_the_distance(
    network, supervisor, language, words
):
    from qingquan.core.models import AuditEvent
    from qingquan.customers.tests.factories import premise

    case = _repair(supervisor, premise=premise(**NEAR_J4))
    response = _put(_client(supervisor, language), case.number, *FAR)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert words in detail
    distance = int(re.findall(r"\d+", detail)[0])  # J4 to FAR: 0.046° east at 29.87° N
    assert 4400 < distance < 4500, detail
    location = CaseLocation.objects.get(ticket=case)  # unchanged, nothing audited
    assert location.pipe.eid == "P4" and location.source == LocationSource.PREMISE
    assert not AuditEvent.objects.filter(action="network.caselocation.update").exists()


def test_bad_input_and_other_kinds_are_422(network, supervisor):
    from qingquan.customers.tests.factories import premise

    client = _client(supervisor)
    case = _repair(supervisor, premise=premise(**NEAR_J4))
    assert _put(client, case.number, 500, 29.87).status_code == 422
    assert _put(client, case.number, 121.55, -91).status_code == 422
    missing = client.put(
        f"/api/v1/network/cases/{case.number}/place",
        json.dumps({"longitude": 121.55}),
        content_type="application/json",
    )
    assert missing.status_code == 422
    consultation = _repair(supervisor, code="consultation", subject="咨询")
    refused = _put(client, consultation.number, *ON_P2)
    assert refused.status_code == 422 and "not a repair" in refused.json()["detail"]
    assert not CaseLocation.objects.filter(ticket=consultation).exists()
    assert CaseLocation.objects.get(ticket=case).source == LocationSource.PREMISE


def test_no_network_loaded_is_a_422(supervisor):
    case = _repair(supervisor, address="解放南路")
    response = _put(_client(supervisor), case.number, *ON_P2)
    assert response.status_code == 422 and "network" in response.json()["detail"]
    assert not CaseLocation.objects.exists()


def test_put_access_network_view_and_a_case_the_caller_may_see(network, supervisor, make_user):
    case = _repair(supervisor, address="解放南路")
    agent = _client(make_user(Role.AGENT))  # may open cases, does not see the network
    assert _put(agent, case.number, *ON_P2).status_code == 403
    crew = _client(make_user(Role.CREW))  # sees the network, not this case
    assert _put(crew, case.number, *ON_P2).status_code == 404
    assert _put(_client(supervisor), "20990101-0001", *ON_P2).status_code == 404
    assert not CaseLocation.objects.filter(ticket=case).exists()
    anonymous = Client().put(
        f"/api/v1/network/cases/{case.number}/place",
        json.dumps({"longitude": ON_P2[0], "latitude": ON_P2[1]}),
        content_type="application/json",
    )
    assert anonymous.status_code in (401, 403)


def test_service_refuses_a_reader_who_may_not_see_the_case(network, supervisor, make_user):
    from qingquan.network import selectors, services
    from qingquan.staff.access import AccessDenied

    case = _repair(supervisor, address="解放南路")
    with pytest.raises(selectors.NotFound):
        services.case_place_set(actor=make_user(Role.CREW), ticket=case, lon=ON_P2[0], lat=ON_P2[1])
    with pytest.raises(AccessDenied):
        services.case_place_set(
            actor=make_user(Role.AGENT), ticket=case, lon=ON_P2[0], lat=ON_P2[1]
        )
    assert not CaseLocation.objects.exists()


# The plain staff form /cases/new/ --------------------------------------------------------
def _new_case(client: Client, **fields: str) -> Any:
    data = {"kind": "repair-burst", "channel": "phone", "subject": "路面冒水"} | fields
    return client.post("/cases/new/", data)


def test_the_new_case_form_draws_the_pin_map_only_with_a_network(agent, tmp_path):
    client = _client(agent)
    assert 'data-testid="case-pin"' not in client.get("/cases/new/").content.decode()
    import_small(tmp_path)
    page = client.get("/cases/new/").content.decode()
    assert 'data-testid="case-pin"' in page and 'name="pin_lon"' in page
    assert "/api/v1/network/pin-map" in page and '"repair-burst"' in page


def test_the_new_case_form_places_the_pin_with_the_case(network, agent):
    from qingquan.core.models import AuditEvent
    from qingquan.tickets.models import Ticket

    response = _new_case(_client(agent), pin_lon=str(ON_P2[0]), pin_lat=str(ON_P2[1]))
    assert response.status_code == 302
    ticket = Ticket.objects.get()
    location = CaseLocation.objects.get(ticket=ticket)
    assert location.source == LocationSource.PIN and location.pipe.eid == "P2"
    assert (location.longitude, location.latitude) == ON_P2
    assert AuditEvent.objects.filter(action="network.caselocation.update").count() == 1
    # Without a pin, the case is placed at its address as before (none here).
    _new_case(_client(agent), address="不存在的地址")
    assert CaseLocation.objects.count() == 1


@pytest.mark.parametrize(("language", "words"), [("en", "map pin"), ("zh-hans", "地图")])
def test_a_bad_pin_refuses_the_case_and_writes_nothing(network, agent, language, words):
    from qingquan.tickets.models import Ticket

    client = _client(agent, language)
    for lon, lat in (("abc", "29.87"), ("121.55", ""), ("500", "29.87")):
        response = _new_case(client, pin_lon=lon, pin_lat=lat)
        assert response.status_code == 200
        page = response.content.decode()
        assert words in page and 'data-testid="case-pin"' in page
    assert not Ticket.objects.exists() and not CaseLocation.objects.exists()


def test_a_pin_on_another_kind_is_ignored(network, agent):
    from qingquan.tickets.models import Ticket

    response = _new_case(
        _client(agent), kind="consultation", pin_lon=str(ON_P2[0]), pin_lat=str(ON_P2[1])
    )
    assert response.status_code == 302 and Ticket.objects.count() == 1
    assert not CaseLocation.objects.exists()


def test_pin_map_pipes_for_whoever_opens_cases_or_reads_the_network(network, make_user):
    for role in (Role.AGENT, Role.BACK_OFFICE, Role.CREW):
        response = _client(make_user(role)).get("/api/v1/network/pin-map")
        assert response.status_code == 200, role
        layers = {f["properties"]["layer"] for f in response.json()["features"]}
        assert layers == {"pipe"} and len(response.json()["features"]) == 7
    box = _client(make_user(Role.AGENT)).get(
        "/api/v1/network/pin-map", {"bbox": "121.5502,29.869,121.5512,29.8705"}
    )
    assert {f["properties"]["id"] for f in box.json()["features"]} == {"P1", "P2"}
    assert Client().get("/api/v1/network/pin-map").status_code == 401
    # The full layer (valves, sources) stays behind network.view.
    assert _client(make_user(Role.AGENT)).get("/api/v1/network/geojson").status_code == 403
