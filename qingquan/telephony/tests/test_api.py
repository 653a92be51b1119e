"""The telephony API: contacts with filters and access, the caller's agent state, the queue."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client

from qingquan.core.actors import SYSTEM
from qingquan.core.models import AuditEvent
from qingquan.telephony import services
from qingquan.telephony.models import AgentState, AgentStatus, Call, CallOutcome, CallState
from qingquan.tickets.models import Contact

pytestmark = pytest.mark.django_db

SH = dt.timezone(dt.timedelta(hours=8))


def client_for(user: Any) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.cookies["django_language"] = "en"  # pages ignore Accept-Language
    client.force_login(user)
    return client


@pytest.fixture
def pbx(db: Any) -> Any:
    return services.pbx_create(actor=SYSTEM, name="PBX-A", token="test-pbx-token-0123456789")[0]


def contact(agent: Any, day: int, channel: str = "phone", **extra: Any) -> Contact:
    return Contact.objects.create(
        channel=channel,
        from_address="13800005678",
        started_at=dt.datetime(2026, 11, day, 9, 0, tzinfo=SH),
        agent=agent,
        **extra,
    )


def call_for(pbx: Any, contact: Contact | None, n: int, **extra: Any) -> Call:
    return Call.objects.create(
        pbx=pbx,
        call_id=f"c{n}",
        from_number="13800005678",
        rang_at=dt.datetime(2026, 11, 28, 9, 0, n, tzinfo=SH),
        contact=contact,
        **extra,
    )


@pytest.fixture
def contacts(agent: Any, make_user: Any, pbx: Any) -> dict[str, Contact]:
    from qingquan.staff.roles import Role

    other = make_user(Role.AGENT)
    mine_call = contact(agent, 2)
    call_for(pbx, mine_call, 1, state=CallState.ENDED, outcome=CallOutcome.ANSWERED)
    return {
        "mine_call": mine_call,
        "mine_wechat": contact(agent, 10, channel="wechat"),
        "other": contact(other, 20),
    }


def test_agent_lists_own_contacts_only_with_filters(agent: Any, contacts: Any) -> None:
    api = client_for(agent)
    r = api.get("/api/v1/telephony/contacts")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["count"] == 2
    assert [c["id"] for c in body["items"]] == [
        contacts["mine_wechat"].pk,
        contacts["mine_call"].pk,
    ]
    assert body["items"][1]["outcome"] == "answered"
    assert body["items"][0]["outcome"] is None
    assert body["items"][0]["from_address"] == "138****5678"  # agents see numbers masked

    def ids(query: str) -> list[int]:
        r = api.get(f"/api/v1/telephony/contacts?{query}")
        assert r.status_code == 200, r.content
        return [c["id"] for c in r.json()["items"]]

    assert ids("channel=wechat") == [contacts["mine_wechat"].pk]
    assert ids("outcome=answered") == [contacts["mine_call"].pk]
    assert ids("outcome=none") == [contacts["mine_wechat"].pk]
    assert ids("date_from=2026-11-02&date_to=2026-11-02") == [contacts["mine_call"].pk]
    assert ids("date_from=2026-11-03") == [contacts["mine_wechat"].pk]
    assert ids(f"agent={agent.username}") == ids("")


def test_agent_may_not_ask_for_another_agents_contacts(agent: Any, contacts: Any) -> None:
    other = contacts["other"].agent
    r = client_for(agent).get(f"/api/v1/telephony/contacts?agent={other.username}")
    assert r.status_code == 403
    assert "tickets.view_all" in r.json()["detail"]
    r = client_for(agent).get(f"/api/v1/telephony/contacts/{contacts['other'].pk}")
    assert r.status_code == 404


def test_supervisor_sees_everyone_and_full_numbers(supervisor: Any, contacts: Any) -> None:
    api = client_for(supervisor)
    body = api.get("/api/v1/telephony/contacts").json()
    assert body["count"] == 3
    other = contacts["other"].agent
    r = api.get(f"/api/v1/telephony/contacts?agent={other.username}")
    assert [c["id"] for c in r.json()["items"]] == [contacts["other"].pk]
    detail = api.get(f"/api/v1/telephony/contacts/{contacts['mine_call'].pk}").json()
    assert detail["from_address"] == "13800005678"
    assert detail["call"]["outcome"] == "answered" and detail["call"]["call_id"] == "c1"


@pytest.mark.parametrize(
    "query, words",
    [
        ("channel=fax", "Unknown channel"),
        ("outcome=lost", "Unknown outcome"),
        ("date_from=2026-11-10&date_to=2026-11-01", "before"),
    ],
)
def test_bad_filters_answer_400_with_a_message(
    agent: Any, contacts: Any, query: str, words: str
) -> None:
    r = client_for(agent).get(f"/api/v1/telephony/contacts?{query}")
    assert r.status_code == 400 and words in r.json()["detail"]


@pytest.mark.parametrize("query", ["date_from=yesterday", "page=0", "page_size=1000"])
def test_malformed_parameters_answer_422(agent: Any, query: str) -> None:
    assert client_for(agent).get(f"/api/v1/telephony/contacts?{query}").status_code == 422


def test_contact_detail_of_own_and_unknown(agent: Any, contacts: Any) -> None:
    api = client_for(agent)
    r = api.get(f"/api/v1/telephony/contacts/{contacts['mine_wechat'].pk}")
    assert r.status_code == 200 and r.json()["call"] is None
    assert api.get("/api/v1/telephony/contacts/999999").status_code == 404


def test_anonymous_callers_are_refused(contacts: Any) -> None:
    assert Client().get("/api/v1/telephony/contacts").status_code == 401
    assert Client().get("/api/v1/telephony/agent-state").status_code == 401


def put_state(client: Client, status: str) -> Any:
    return client.put(
        "/api/v1/telephony/agent-state",
        json.dumps({"status": status}),
        content_type="application/json",
    )


def test_agent_reads_and_changes_own_state_through_the_service(agent: Any) -> None:
    api = client_for(agent)
    r = api.get("/api/v1/telephony/agent-state")
    assert r.status_code == 200 and r.json()["status"] == "offline"
    for status in ("available", "wrap_up", "break"):
        r = put_state(api, status)
        assert r.status_code == 200, r.content
        assert r.json()["status"] == status
        assert AgentState.objects.get(user=agent).status == status
    assert api.get("/api/v1/telephony/agent-state").json()["status"] == "break"
    audited = AuditEvent.objects.filter(action="telephony.agent_state", actor=agent)
    assert audited.count() == 3


def test_state_cannot_be_set_to_on_call_or_nonsense(agent: Any) -> None:
    api = client_for(agent)
    for status in ("on_call", "napping"):
        r = put_state(api, status)
        assert r.status_code == 400 and "Unknown state" in r.json()["detail"]
    assert not AgentState.objects.filter(user=agent).exists()


def test_state_change_during_a_live_call_is_409(agent: Any, pbx: Any) -> None:
    live = call_for(pbx, None, 5, state=CallState.ANSWERED, agent=agent)
    AgentState.objects.create(user=agent, status=AgentStatus.ON_CALL, since=live.rang_at, call=live)
    r = put_state(client_for(agent), "break")
    assert r.status_code == 409 and "on a call" in r.json()["detail"]


def test_roles_without_a_console_have_no_state(make_user: Any) -> None:
    from qingquan.staff.roles import Role

    crew = client_for(make_user(Role.CREW))
    assert crew.get("/api/v1/telephony/agent-state").status_code == 403
    r = put_state(crew, "available")
    assert r.status_code == 403 and "console.use" in r.json()["detail"]


def test_calls_waiting_longest_first_and_access(agent: Any, make_user: Any, pbx: Any) -> None:
    from qingquan.staff.roles import Role

    second = call_for(pbx, None, 9)
    first = call_for(pbx, None, 3)
    call_for(pbx, None, 4, state=CallState.ANSWERED)
    r = client_for(agent).get("/api/v1/telephony/calls/waiting")
    assert r.status_code == 200
    assert [c["id"] for c in r.json()] == [first.pk, second.pk]
    assert r.json()[0]["from_number"] == "138****5678"
    crew = client_for(make_user(Role.CREW))
    r = crew.get("/api/v1/telephony/calls/waiting")
    assert r.status_code == 403 and "telephony.queue" in r.json()["detail"]


def test_openapi_documents_the_endpoints(agent: Any) -> None:
    paths = client_for(agent).get("/api/v1/openapi.json").json()["paths"]
    for path in (
        "/api/v1/telephony/contacts",
        "/api/v1/telephony/contacts/{contact_id}",
        "/api/v1/telephony/agent-state",
        "/api/v1/telephony/calls/waiting",
    ):
        assert path in paths
