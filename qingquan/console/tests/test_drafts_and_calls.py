"""Issue #14 item 1 on the server: drafts per contact and case, a banner that follows the
agent's state (ringing before the answer, after-call work after the hangup), a call whose
hangup was lost does not pop again, and the wallboard counts calls in progress."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from qingquan.console.models import Draft
from qingquan.console.tests.conftest import answer_call
from qingquan.telephony import selectors as telephony_selectors
from qingquan.telephony import services as telephony
from qingquan.telephony.models import AgentStatus, Call, CallState
from qingquan.tickets.models import Ticket


def client_for(user: Any, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    client.cookies["django_language"] = language
    return client


def ring(pbx: Any, call_id: str, number: str, extension: str = "") -> None:
    event = telephony.parse_event(
        {
            "event_id": f"{call_id}-ring",
            "type": "ring",
            "call_id": call_id,
            "from": number,
            "extension": extension,
        }
    )
    telephony.call_event_handle(pbx=pbx, event=event)


def hangup(pbx: Any, call: Call) -> None:
    event = telephony.parse_event(
        {"event_id": f"{call.call_id}-hangup", "type": "hangup", "call_id": call.call_id}
    )
    telephony.call_event_handle(pbx=pbx, event=event)


@pytest.mark.django_db
def test_a_draft_is_kept_per_contact_read_back_and_refused_when_malformed(
    pbx: Any, make_user: Any
) -> None:
    agent = make_user("agent", extension="8301")
    other = make_user("agent", extension="8302")
    call = answer_call(pbx, agent, "13800001111")
    url = f"/console/drafts/intake:contact:{call.contact_id}/"
    client = client_for(agent)
    typed = {"kind": "repair", "location": "药行街20号楼下", "description": "冒水"}
    saved = client.post(url, json.dumps(typed), content_type="application/json")
    assert saved.status_code == 200
    again = client.get(url).json()
    assert again["data"] == typed and again["updated_at"]
    # Another agent's drafts are their own.
    assert client_for(other).get(url).json()["data"] is None
    for body, field in (
        ("not json", "data"),
        (json.dumps(["a"]), "data"),
        (json.dumps({"x": 1}), "data"),
        (json.dumps({"x": "y" * 5001}), "data"),
    ):
        refused = client.post(url, body, content_type="application/json")
        assert refused.status_code == 400 and refused.json()["field"] == field
        assert refused.json()["error"]
    zh = client_for(agent, "zh-hans").post(
        "/console/drafts/intake:anything/", "{}", content_type="application/json"
    )
    assert zh.status_code == 400 and zh.json()["error"] == "未知的草稿表单。"
    assert client.delete(url).status_code == 200
    assert not Draft.objects.exists()


@pytest.mark.django_db
def test_sending_the_intake_forgets_the_contacts_draft(pbx: Any, make_user: Any) -> None:
    agent = make_user("agent", extension="8303")
    call = answer_call(pbx, agent, "13800001112")
    key = f"intake:contact:{call.contact_id}"
    client = client_for(agent)
    client.post(
        f"/console/drafts/{key}/", json.dumps({"subject": "x"}), content_type="application/json"
    )
    refused = client.post("/console/intake/", {"call": call.pk, "kind": "complaint"})
    assert refused.status_code == 400 and Draft.objects.filter(key=key).exists()
    sent = client.post(
        "/console/intake/", {"call": call.pk, "kind": "complaint", "subject": "水压低"}
    )
    assert sent.status_code == 302 and Ticket.objects.count() == 1
    assert not Draft.objects.filter(key=key).exists()


@pytest.mark.django_db
def test_intake_form_carries_its_draft_keys_and_reasons(pbx: Any, make_user: Any) -> None:
    agent = make_user("agent", extension="8304")
    call = answer_call(pbx, agent, "13800001113")
    html = client_for(agent, "zh-hans").get(f"/console/calls/{call.pk}/").content.decode()
    assert f'data-local-key="intake:call:{call.pk}"' in html
    assert f'data-draft-url="/console/drafts/intake:contact:{call.contact_id}/"' in html
    assert "未提交：请先填写" in html and "草稿" in html
    page = client_for(agent).get("/console/").content.decode()
    assert f'data-call="{call.pk}"' in page  # the pop is known: the banner poll keeps it


@pytest.mark.django_db
def test_ringing_shows_on_the_console_before_the_answer(pbx: Any, make_user: Any) -> None:
    agent = make_user("agent", extension="8305")
    telephony.agent_state_set(actor=agent, status="available")
    client = client_for(agent, "zh-hans")
    assert "当前无来电" in client.get("/console/banner/").content.decode()
    ring(pbx, "r-1", "13800002222")
    banner = client.get("/console/banner/").content.decode()
    assert "当前无来电" not in banner and "振铃" in banner and 'data-ringing="1"' in banner
    ring(pbx, "r-2", "13800002223", extension="8305")
    banner = client_for(agent).get("/console/banner/").content.decode()
    assert "offered to you" in banner and 'data-ringing="1"' in banner
    assert len(telephony_selectors.ringing_for(user=agent)) == 1


@pytest.mark.django_db
def test_banner_state_and_wallboard_agree_from_ring_to_after_call_work(
    pbx: Any, make_user: Any
) -> None:
    agent = make_user("agent", extension="8306")
    supervisor = make_user("supervisor")
    first = answer_call(pbx, agent, "13800003333")
    board = client_for(supervisor).get("/console/wallboard/").content.decode()
    assert 'data-testid="calls-in-progress">1<' in board
    assert 'data-testid="count-on_call">1<' in board
    # The first call's hangup is lost; the agent answers a second one.
    second = answer_call(pbx, agent, "13800004444")
    first.refresh_from_db()
    assert first.state == CallState.ENDED and first.hangup_cause == "failed"
    assert telephony_selectors.current_call(user=agent) == second
    board = client_for(supervisor).get("/console/wallboard/").content.decode()
    assert 'data-testid="calls-in-progress">1<' in board
    hangup(pbx, second)
    assert telephony_selectors.agent_state_of(agent).status == AgentStatus.WRAP_UP
    banner = client_for(agent, "zh-hans").get("/console/banner/").content.decode()
    assert f'data-call="{second.pk}"' in banner and "话后处理" in banner
    assert "通话中" not in banner.split('id="agent-state"')[0]
    board = client_for(supervisor).get("/console/wallboard/").content.decode()
    assert 'data-testid="calls-in-progress">0<' in board


@pytest.mark.django_db
def test_the_simulator_finds_its_live_call_after_navigating_away(make_user: Any) -> None:
    from qingquan.telephony.demo import DEMO_PBX_TOKEN, seed_telephony

    pbx = seed_telephony()
    supervisor = make_user("supervisor")
    make_user("agent", extension="8307")
    ring(pbx, "sim-live-1", "13700001111")
    assert DEMO_PBX_TOKEN
    page = client_for(supervisor).get("/telephony/simulator/").content.decode()
    assert 'data-call-id="sim-live-1"' in page
    assert 'name="call_id" value="sim-live-1"' in page
    assert 'data-testid="sim-answer"' in page


@pytest.mark.django_db
def test_available_again_the_next_ring_shows_not_the_last_call(pbx: Any, make_user: Any) -> None:
    agent = make_user("agent", extension="8308")
    call = answer_call(pbx, agent, "13800005555")
    hangup(pbx, call)
    assert telephony_selectors.current_call(user=agent) == call  # after-call work
    telephony.agent_state_set(actor=agent, status="available")
    ring(pbx, "r-next", "13800006666", extension="8308")
    assert telephony_selectors.current_call(user=agent) is None
    banner = client_for(agent).get("/console/banner/").content.decode()
    assert 'data-ringing="1"' in banner
