"""The map's other layers: premises in a close viewport (names only for roles that may see
them), open repair cases placed at their premise or their account's premise (incidents
marked), and the search by address or account number that finds a premise's segment."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from qingquan.network.tests.helpers import import_small
from qingquan.staff.roles import Role

pytestmark = pytest.mark.django_db

NEAR_J4 = {"longitude": 121.5541, "latitude": 29.8701}
NEAR_J1 = {"longitude": 121.5511, "latitude": 29.8701}
BOX = "121.5535,29.8695,121.5545,29.8705"  # around J4 only


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def city(tmp_path: Any) -> dict[str, Any]:
    from qingquan.customers.tests.factories import account, premise

    import_small(tmp_path)
    j4 = premise(**NEAR_J4, room="0401")
    j1 = premise(**NEAR_J1, room="0101")
    return {
        "j4": j4,
        "j1": j1,
        "a4": account(premise=j4, number="3302770004"),
        "a1": account(premise=j1, number="3302770001"),
    }


def test_premises_of_a_close_viewport(city, make_user):
    supervisor = _client(make_user(Role.SUPERVISOR))
    data = supervisor.get("/api/v1/network/premises", {"bbox": BOX}).json()
    [feature] = data["features"]
    props = feature["properties"]
    assert props["id"] == city["j4"].pk and props["node"] == "J4" and props["accounts"] == 1
    assert props["customers"] == ["王小明"] and props["segment"] is not None
    crew = _client(make_user(Role.CREW)).get("/api/v1/network/premises", {"bbox": BOX}).json()
    assert "customers" not in crew["features"][0]["properties"]
    wide = supervisor.get(
        "/api/v1/network/premises",
        {"bbox": "121.4,29.8,121.6,29.9"},
        headers={"Accept-Language": "en"},
    )
    assert wide.status_code == 422 and "Zoom in" in wide.json()["detail"]
    assert supervisor.get("/api/v1/network/premises").status_code == 422


def test_open_repair_cases_at_their_premise_and_incidents(city, make_user):
    from qingquan.tickets import services as tickets
    from qingquan.tickets.models import CaseKind

    supervisor = make_user(Role.SUPERVISOR)
    burst = CaseKind.objects.get(code="repair-burst")
    first = tickets.ticket_create(
        actor=supervisor, kind=burst, channel="phone", subject="爆管", premise=city["j4"]
    )
    second = tickets.ticket_create(
        actor=supervisor, kind=burst, channel="phone", subject="爆管", account=city["a1"]
    )
    tickets.ticket_create(actor=supervisor, kind=burst, channel="phone", subject="无地址")
    tickets.ticket_create(
        actor=supervisor,
        kind=CaseKind.objects.get(code="consultation"),
        channel="phone",
        subject="咨询",
        premise=city["j4"],
    )
    client = _client(supervisor)
    data = client.get("/api/v1/network/cases").json()
    by_number = {f["properties"]["number"]: f for f in data["features"]}
    assert set(by_number) == {first.number, second.number} and data["unplaced"] == 1
    assert by_number[first.number]["geometry"]["coordinates"] == [121.5541, 29.8701]
    assert by_number[second.number]["geometry"]["coordinates"] == [121.5511, 29.8701]
    assert by_number[first.number]["properties"]["url"] == f"/cases/{first.number}/"
    tickets.ticket_merge(actor=supervisor, ticket=second, version=None, parent=first)
    data = client.get("/api/v1/network/cases").json()
    incident = {f["properties"]["number"]: f["properties"] for f in data["features"]}
    assert incident[first.number]["incident"] and incident[first.number]["merged"] == 1
    # A crew sees only the cases with their crew (none here).
    assert _client(make_user(Role.CREW)).get("/api/v1/network/cases").json()["features"] == []


def test_search_by_account_number_or_address(city, make_user):
    crew = _client(make_user(Role.CREW))
    [found] = crew.get("/api/v1/network/search", {"q": "3302770004"}).json()
    assert found["premise"] == city["j4"].pk and found["node"] == "J4"
    assert found["segment_pipes"] == ["P4"] and found["account"] == "3302770004"
    by_address = crew.get("/api/v1/network/search", {"q": "解放南路 0101"}).json()
    assert [f["premise"] for f in by_address] == [city["j1"].pk]
    assert sorted(by_address[0]["segment_pipes"]) == ["P1"]
    assert crew.get("/api/v1/network/search", {"q": "nowhere"}).json() == []
    assert crew.get("/api/v1/network/search", {"q": ""}).status_code == 422
    assert crew.get("/api/v1/network/search", {"q": "x" * 101}).status_code == 422
    agent = _client(make_user(Role.AGENT))
    assert agent.get("/api/v1/network/search", {"q": "3302770004"}).status_code == 403


def test_the_map_page_carries_the_layers_urls(city, make_user):
    page = _client(make_user(Role.DISPATCHER)).get("/network/").content.decode()
    assert 'data-testid="network-search"' in page
    for url in ("/api/v1/network/premises", "/api/v1/network/cases", "/api/v1/network/search"):
        assert url in page
