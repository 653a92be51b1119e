"""The HTTP API: schemas, transitions, and the 4xx answers for refused requests."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from qingquan.tickets.models import Ticket

from .conftest import sh

pytestmark = pytest.mark.django_db


def client_for(user: Any) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.cookies["django_language"] = "en"  # pages ignore Accept-Language
    client.force_login(user)
    return client


def post(client: Client, url: str, data: dict[str, Any]) -> Any:
    path = f"/api/v1/tickets{url}" if url else "/api/v1/tickets/"
    return client.post(path, json.dumps(data), content_type="application/json")


@pytest.fixture
def agent_api(people: Any) -> Client:
    return client_for(people["agent"])


def create(client: Client, **extra: Any) -> dict[str, Any]:
    payload = {
        "kind": "repair-leak",
        "channel": "wechat",
        "subject": "小区门口漏水",
        "caller_phone": "13800001111",
        "address": "鄞州区天童南路1号",
    }
    payload.update(extra)
    response = post(client, "", payload)
    assert response.status_code == 201, response.content
    return response.json()


def test_create_get_and_walk_through(at: Any, agent_api: Client, people: Any, org: Any) -> None:
    at(sh(2026, 3, 2, 9))
    case = create(agent_api)
    assert case["number"] == "20260302-0001"
    assert case["owner"] == people["agent"].username
    assert case["state"] == "received" and case["version"] == 1
    assert case["resolution_deadline"].startswith("2026-03-04T01:00:00")  # 48 h, in UTC
    assert "dispatch" in case["allowed_actions"]

    number = case["number"]
    r = post(agent_api, f"/{number}/dispatch", {"version": 1, "team": "crew-haishu"})
    assert r.status_code == 200, r.content
    assert r.json()["team"] == "crew-haishu" and r.json()["version"] == 2

    crew_api = client_for(people["crew"])
    assert post(crew_api, f"/{number}/accept", {"version": 2}).status_code == 200
    r = post(crew_api, f"/{number}/resolve", {"version": 3, "resolution": "阀门已更换"})
    assert r.json()["state"] == "resolved" and r.json()["on_time"] is True

    detail = agent_api.get(f"/api/v1/tickets/{number}").json()
    assert [e["action"] for e in detail["events"]] == ["create", "dispatch", "accept", "resolve"]
    assert detail["clock"] is None  # stopped
    mine = agent_api.get("/api/v1/tickets/mine?include_done=true").json()
    assert [t["number"] for t in mine] == [number]


def test_stale_version_answers_409_with_current_state(agent_api: Client) -> None:
    number = create(agent_api)["number"]
    assert post(agent_api, f"/{number}/dispatch", {"version": 1}).status_code == 200
    r = post(agent_api, f"/{number}/resolve", {"version": 1, "resolution": "x"})
    assert r.status_code == 409
    body = r.json()
    assert "changed by someone else" in body["detail"]
    assert body["current"]["version"] == 2 and body["current"]["state"] == "dispatched"
    assert Ticket.objects.get(number=number).state == "dispatched"


def test_illegal_step_answers_409(agent_api: Client) -> None:
    number = create(agent_api)["number"]
    r = post(agent_api, f"/{number}/callback", {"version": 1, "outcome": "satisfied"})
    assert r.status_code == 409
    assert "not possible" in r.json()["detail"]


def test_bad_input_answers_400(agent_api: Client) -> None:
    r = post(agent_api, "", {"kind": "nonsense", "channel": "phone", "subject": "x"})
    assert r.status_code == 400 and "Unknown case kind" in r.json()["detail"]
    r = post(agent_api, "", {"kind": "bill", "channel": "fax", "subject": "x"})
    assert r.status_code == 400
    r = post(agent_api, "", {"kind": "bill", "channel": "phone", "subject": "  "})
    assert r.status_code == 400
    number = create(agent_api)["number"]
    r = post(agent_api, f"/{number}/pause", {"version": 1, "reason": "lunch"})
    assert r.status_code == 400
    r = post(agent_api, f"/{number}/dispatch", {"version": 1, "department": "nowhere"})
    assert r.status_code == 400
    assert Ticket.objects.count() == 1


def test_only_supervisors_change_owner_over_the_api(agent_api: Client, people: Any) -> None:
    number = create(agent_api)["number"]
    payload = {"version": 1, "owner": people["agent2"].username, "reason": "交接"}
    assert post(agent_api, f"/{number}/owner", payload).status_code == 403
    r = post(client_for(people["supervisor"]), f"/{number}/owner", payload)
    assert r.status_code == 200 and r.json()["owner"] == people["agent2"].username


def test_cases_of_others_are_not_found(agent_api: Client, people: Any) -> None:
    number = create(agent_api)["number"]
    other = client_for(people["agent2"])
    assert other.get(f"/api/v1/tickets/{number}").status_code == 404
    assert post(other, f"/{number}/resolve", {"version": 1, "resolution": "x"}).status_code == 404
    assert other.get("/api/v1/tickets/").json()["count"] == 0
    assert client_for(people["supervisor"]).get("/api/v1/tickets/").json()["count"] == 1


def test_list_filters_kinds_contacts_and_kpis(at: Any, agent_api: Client, people: Any) -> None:
    at(sh(2026, 3, 2, 9))
    create(agent_api)
    create(agent_api, kind="bill", channel="phone", subject="水费疑问")
    listing = agent_api.get("/api/v1/tickets/?kind=repair&state=received").json()
    assert listing["count"] == 1 and listing["items"][0]["kind"] == "repair-leak"
    assert agent_api.get("/api/v1/tickets/?q=水费").json()["count"] == 1
    kinds = {k["code"]: k for k in agent_api.get("/api/v1/tickets/kinds").json()}
    assert kinds["repair-burst"]["clock_kind"] == "calendar"
    assert kinds["connection"]["resolution_seconds"] == 2 * 86400

    r = post(
        agent_api, "/contacts", {"channel": "phone", "from_address": "13800001111", "tickets": []}
    )
    assert r.status_code == 201 and r.json()["agent"] == people["agent"].username
    assert len(agent_api.get("/api/v1/tickets/contacts").json()) == 3

    url = "/api/v1/tickets/kpis?start=2026-03-01T00:00:00%2B08:00&end=2026-04-01T00:00:00%2B08:00"
    assert agent_api.get(url).status_code == 403
    kpis = client_for(people["supervisor"]).get(url + "&by=channel").json()
    assert {f["key"]: (f["numerator"], f["denominator"]) for f in kpis["closure_rate"]} == {
        "phone": (0, 1),
        "wechat": (0, 1),
    }
    assert client_for(people["supervisor"]).get(url + "&by=colour").status_code == 400


def test_openapi_documents_the_ticket_endpoints(agent_api: Client) -> None:
    schema = agent_api.get("/api/v1/openapi.json").json()
    paths = schema["paths"]
    assert "/api/v1/tickets/{number}/resolve" in paths
    assert "/api/v1/tickets/kpis" in paths
    assert "ResolveIn" in schema["components"]["schemas"]


def test_callers_numbers_are_masked_for_agents_on_cases_and_contacts(
    agent_api: Client, people: Any
) -> None:
    """Agents call customers back through the platform, so a caller's number on a case or
    a contact is masked for them (as in the customer lookup); supervisors see it whole."""
    created = create(agent_api)
    assert created["caller_phone"] == "138****1111"
    fetched = agent_api.get(f"/api/v1/tickets/{created['number']}").json()
    assert fetched["caller_phone"] == "138****1111"
    contacts = agent_api.get("/api/v1/tickets/contacts").json()
    assert {c["from_address"] for c in contacts} == {"138****1111"}
    page = agent_api.get(f"/cases/{created['number']}/").content.decode()
    assert "138****1111" in page and "13800001111" not in page
    supervisor = client_for(people["supervisor"])
    assert supervisor.get(f"/api/v1/tickets/{created['number']}").json()["caller_phone"] == (
        "13800001111"
    )
    assert "13800001111" in supervisor.get(f"/cases/{created['number']}/").content.decode()
