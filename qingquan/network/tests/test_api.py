"""The network API and pages: answers, bad input as 4xx, and access by role."""

from __future__ import annotations

import pytest
from django.test import Client

from qingquan.network.tests.helpers import import_small
from qingquan.staff.roles import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def net(tmp_path):
    return import_small(tmp_path)


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def dispatcher(make_user):
    return _client(make_user(Role.DISPATCHER))


def test_geojson_of_a_viewport(net, dispatcher):
    everything = dispatcher.get("/api/v1/network/geojson").json()
    layers = [f["properties"]["layer"] for f in everything["features"]]
    assert layers.count("pipe") == 7 and layers.count("valve") == 5 and layers.count("source") == 1
    # Only P1 and P2 cross x 0.2–1.2.
    box = dispatcher.get("/api/v1/network/geojson", {"bbox": "121.5502,29.869,121.5512,29.8705"})
    pipes = {
        f["properties"]["id"] for f in box.json()["features"] if f["properties"]["layer"] == "pipe"
    }
    assert pipes == {"P1", "P2"}


def test_isolation_plan_of_a_pipe_and_of_a_point(net, dispatcher):
    plan = dispatcher.get("/api/v1/network/isolation", {"pipe": "P2"}).json()
    assert [v["id"] for v in plan["valves_to_close"]] == ["VA", "VB", "VE"]
    assert plan["cut_off_junctions"] == ["J3", "J4", "J5", "J6"] and plan["whole_zone"] is False
    point = dispatcher.get("/api/v1/network/isolation", {"lon": 121.5535, "lat": 29.8701}).json()
    assert point["pipe"] == "P4" and point["snapped_m"] == pytest.approx(11.1, abs=0.5)
    drawn = dispatcher.get("/api/v1/network/isolation/geojson", {"pipe": "P2"}).json()
    layers = {f["properties"]["layer"] for f in drawn["features"]}
    assert {"segment", "cut_off", "valve_close", "segment_area", "cut_off_area"} <= layers
    accounts = dispatcher.get("/api/v1/network/isolation/accounts", {"pipe": "P2"}).json()
    assert accounts == {"total": 0, "page": 1, "page_size": 50, "accounts": []}


@pytest.mark.parametrize(
    ("url", "params", "status", "words"),
    [
        ("/api/v1/network/isolation", {"pipe": "NOPE"}, 404, "There is no pipe NOPE"),
        ("/api/v1/network/isolation", {}, 422, "Give pipe, or lon and lat"),
        ("/api/v1/network/isolation", {"lon": 121.7, "lat": 29.87}, 422, "from the nearest pipe"),
        ("/api/v1/network/isolation", {"lon": "east", "lat": 29.87}, 422, ""),
        ("/api/v1/network/isolation", {"lon": 500, "lat": 29.87}, 422, ""),
        ("/api/v1/network/isolation/accounts", {"pipe": "P2", "page": 0}, 422, ""),
        ("/api/v1/network/geojson", {"bbox": "1,2,3"}, 422, "bbox"),
        ("/api/v1/network/geojson", {"bbox": "3,2,1,0"}, 422, "bbox"),
    ],
)
def test_bad_input_is_a_4xx_with_a_reason(net, dispatcher, url, params, status, words):
    response = dispatcher.get(url, params, headers={"Accept-Language": "en"})
    assert response.status_code == status, response.content
    assert words in str(response.json()["detail"])


def test_roles_without_the_network_get_403(net, make_user):
    agent = _client(make_user(Role.AGENT))
    for url in ("/api/v1/network/geojson", "/api/v1/network/isolation?pipe=P2"):
        response = agent.get(url)
        assert response.status_code == 403 and "detail" in response.json()
    assert agent.get("/network/").status_code == 403
    assert agent.get("/network/plan/?pipe=P2").status_code == 403
    assert Client().get("/api/v1/network/geojson").status_code == 401
    crew = _client(make_user(Role.CREW))
    assert crew.get("/api/v1/network/isolation?pipe=P2").status_code == 200


def test_the_pages(net, make_user):
    from qingquan.customers.tests.factories import account, premise

    account(premise=premise(longitude=121.5541, latitude=29.8701))
    supervisor = _client(make_user(Role.SUPERVISOR))
    page = supervisor.get("/network/").content.decode()
    assert 'id="netmap"' in page and "network-config" in page
    panel = supervisor.get("/network/plan/", {"pipe": "P4"}).content.decode()
    assert 'data-testid="valves-to-close"' in panel and "VD" in panel
    assert "plan/accounts/?pipe=P4" in panel
    listed = supervisor.get("/network/plan/accounts/", {"pipe": "P4"}).content.decode()
    assert "解放南路12号" in listed and "王小明" in listed
    crew = _client(make_user(Role.CREW))
    assert "王*" in crew.get("/network/plan/accounts/", {"pipe": "P4"}).content.decode()
    missing = supervisor.get("/network/plan/", {"pipe": "NOPE"})
    assert missing.status_code == 404 and "NOPE" in missing.content.decode()
    far = supervisor.get("/network/plan/", {"lon": "121.7", "lat": "29.87"})
    assert far.status_code == 422
