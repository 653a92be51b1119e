"""The CTI webhook: tokens, payload checks, ring/answer/hangup, idempotency, blocked numbers,
contacts and the screen-pop push."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.test import Client

from qingquan.core.actors import SYSTEM
from qingquan.core.notifications import user_group
from qingquan.customers.tests import factories as cf
from qingquan.telephony import services
from qingquan.telephony.models import AgentState, AgentStatus, Call, CallEvent, CallOutcome
from qingquan.tickets.models import Contact

TOKEN = "test-pbx-token-0123456789"
T0 = dt.datetime(2026, 11, 28, 9, 0, 0, tzinfo=dt.UTC)


@pytest.fixture
def pbx(db: Any) -> Any:
    return services.pbx_create(actor=SYSTEM, name="PBX-A", token=TOKEN)[0]


def post(payload: Any, token: str = TOKEN, raw: bytes | None = None) -> Any:
    body = raw if raw is not None else json.dumps(payload)
    return Client().post(
        "/telephony/events",
        data=body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )


def event(kind: str, n: int, **extra: Any) -> dict[str, Any]:
    at = (T0 + dt.timedelta(seconds=n)).isoformat()
    return {
        "event_id": f"e{n}-{kind}",
        "type": kind,
        "call_id": "c1",
        "from": "13800005678",
        "to": "96390",
        "queue": "96390",
        "at": at,
        **extra,
    }


@pytest.mark.django_db
def test_bad_token_is_403_and_bad_payload_400_with_a_message(pbx: Any) -> None:
    assert post(event("ring", 0), token="wrong-token-xxxxxxxxxx").status_code == 403
    response = post(None, raw=b"{not json")
    assert response.status_code == 400 and "JSON" in response.json()["error_en"]
    assert response.json()["error"] == "请求体不是有效的 JSON。"
    response = post({"type": "ring"})
    assert response.status_code == 400
    assert "event_id" in response.json()["error_en"] and "call_id" in response.json()["error_en"]
    response = post(event("answer", 1))  # no extension
    assert response.status_code == 400 and "extension" in response.json()["error_en"]
    response = post(event("hangup", 2, cause="exploded"))
    assert response.status_code == 400 and "cause" in response.json()["error_en"]
    assert Call.objects.count() == 0


@pytest.mark.django_db
def test_inactive_pbx_is_refused(pbx: Any) -> None:
    type(pbx).objects.filter(pk=pbx.pk).update(active=False)
    assert post(event("ring", 0)).status_code == 403


@pytest.mark.django_db(transaction=True)
def test_answered_call_records_contact_state_and_pushes_a_screen_pop(make_user: Any) -> None:
    services.pbx_create(actor=SYSTEM, name="PBX-A", token=TOKEN)
    agent = make_user("agent", extension="8001")
    customer = cf.customer(name="李阿姨", phones=("13800005678",))
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(user_group(agent.pk), channel)

    assert post(event("ring", 0)).json()["action"] == "continue"
    call = Call.objects.get()
    assert call.state == "ringing" and call.agent is None
    assert post(event("answer", 12, extension="8001")).status_code == 200
    call.refresh_from_db()
    assert call.agent == agent and call.wait_seconds == 12
    assert call.contact is not None
    assert call.contact.agent == agent and call.contact.customer == customer
    assert AgentState.objects.get(user=agent).status == AgentStatus.ON_CALL

    pushed = None
    for _ in range(5):
        message = async_to_sync(layer.receive)(channel)
        if message["event"]["kind"] == "screen_pop":
            pushed = message["event"]
            break
    assert pushed == {"kind": "screen_pop", "call_id": call.pk, "url": f"/console/calls/{call.pk}/"}

    post(event("hangup", 192, cause="normal", recording="rec/2026/11/28/c1.wav"))
    call.refresh_from_db()
    assert call.outcome == CallOutcome.ANSWERED and call.talk_seconds == 180
    contact = Contact.objects.get()
    assert contact.duration_seconds == 180
    assert contact.recording_ref == "rec/2026/11/28/c1.wav"
    # Through tickets' contact_end: talk and waiting time, outcome, and an audit row.
    assert contact.wait_seconds == 12 and contact.outcome == "answered"
    assert contact.ended_at == call.ended_at
    from qingquan.core.models import AuditEvent

    audit = AuditEvent.objects.get(action="contact.end", object_id=str(contact.pk))
    assert audit.before is not None and audit.after is not None
    assert audit.after["duration_seconds"] == 180 and audit.before["ended_at"] is None
    assert AgentState.objects.get(user=agent).status == AgentStatus.WRAP_UP


@pytest.mark.django_db
def test_repeated_events_change_nothing(pbx: Any, make_user: Any) -> None:
    make_user("agent", extension="8002")
    post(event("ring", 0))
    first = post(event("answer", 5, extension="8002")).json()
    again = post(event("answer", 5, extension="8002")).json()
    assert again["duplicate"] is True and first["call"] == again["call"]
    post(event("hangup", 65))
    post(event("hangup", 65))
    assert CallEvent.objects.count() == 3
    assert Contact.objects.count() == 1
    call = Call.objects.get()
    assert call.talk_seconds == 60


@pytest.mark.django_db
def test_unanswered_call_is_an_abandoned_contact(pbx: Any) -> None:
    post(event("ring", 0))
    post(event("hangup", 40, cause="cancel"))
    call = Call.objects.get()
    assert call.outcome == CallOutcome.ABANDONED and call.hangup_cause == "cancel"
    contact = Contact.objects.get()
    assert contact.agent is None and contact.duration_seconds == 40
    assert contact.wait_seconds == 40 and contact.outcome == "abandoned"
    assert "40" in contact.note


@pytest.mark.django_db
def test_blocked_number_is_rejected(pbx: Any) -> None:
    services.blocked_number_add(actor=SYSTEM, number="138 0000 5678", reason="骚扰电话")
    reply = post(event("ring", 0)).json()
    assert reply["action"] == "reject"
    call = Call.objects.get()
    assert call.outcome == CallOutcome.REJECTED and call.state == "ended"
    assert Contact.objects.count() == 0


@pytest.mark.django_db
def test_agent_state_buttons(agent: Any) -> None:
    state = services.agent_state_set(actor=agent, status="available")
    assert state.status == "available"
    with pytest.raises(services.TelephonyError):
        services.agent_state_set(actor=agent, status="on_call")
    client = Client()
    client.force_login(agent)
    response = client.post("/telephony/state/", {"status": "break"})
    assert response.status_code == 200
    assert AgentState.objects.get(user=agent).status == "break"
    assert client.post("/telephony/state/", {"status": "nonsense"}).status_code == 400


@pytest.mark.django_db
def test_simulator_is_for_supervisors_only(agent: Any, supervisor: Any) -> None:
    client = Client()
    client.force_login(agent)
    assert client.get("/telephony/simulator/").status_code == 403
    client.force_login(supervisor)
    response = client.get("/telephony/simulator/")
    assert response.status_code == 200
    assert "演示工具" in response.content.decode() or "Demo tool" in response.content.decode()


@pytest.mark.django_db
def test_demo_pbx_token_authenticates_and_is_seeded_once() -> None:
    from qingquan.telephony.demo import DEMO_PBX_TOKEN, seed_telephony

    first = seed_telephony()
    assert seed_telephony() == first
    assert services.pbx_authenticate(DEMO_PBX_TOKEN) == first
    assert first.token_hash != DEMO_PBX_TOKEN  # stored hashed


@pytest.mark.django_db(transaction=True)
def test_answer_reaches_the_agents_open_console_over_the_websocket(make_user: Any) -> None:
    from asgiref.sync import sync_to_async
    from asgiref.testing import ApplicationCommunicator

    from qingquan.core.consumers import StaffEventsConsumer

    services.pbx_create(actor=SYSTEM, name="PBX-WS", token=TOKEN)
    agent = make_user("agent", extension="8301")
    other = make_user("agent", extension="8302")

    def socket(user: Any) -> ApplicationCommunicator:
        scope = {"type": "websocket", "path": "/ws/events/", "headers": [], "user": user}
        return ApplicationCommunicator(StaffEventsConsumer.as_asgi(), scope)

    async def scenario() -> None:
        mine, theirs = socket(agent), socket(other)
        for comm in (mine, theirs):
            await comm.send_input({"type": "websocket.connect"})
            assert (await comm.receive_output(2))["type"] == "websocket.accept"
        await sync_to_async(post)(event("ring", 0))
        await sync_to_async(post)(event("answer", 3, extension="8301"))
        call = await sync_to_async(Call.objects.get)()
        frames = []
        while not await mine.receive_nothing(0.2):
            frames.append(json.loads((await mine.receive_output(1))["text"]))
        assert {"kind": "screen_pop", "call_id": call.pk, "url": f"/console/calls/{call.pk}/"} in (
            frames
        )
        assert await theirs.receive_nothing(0.3)  # the other agent gets no pop
        for comm in (mine, theirs):
            await comm.send_input({"type": "websocket.disconnect", "code": 1000})
            await comm.wait(1)

    async_to_sync(scenario)()


@pytest.mark.django_db
def test_management_commands_register_a_pbx_and_block_a_number() -> None:
    import io

    from django.core.management import call_command

    out = io.StringIO()
    call_command("pbx_create", "Asterisk-1", stdout=out)
    token = out.getvalue().split("Bearer ")[1].split("'")[0]
    assert services.pbx_authenticate(token) is not None
    call_command("block_number", "0574-8765 4321", "robocall", stdout=io.StringIO())
    assert services.is_blocked("057487654321")


@pytest.mark.django_db
def test_supervisor_blocks_and_unblocks_a_number(pbx: Any, agent: Any, supervisor: Any) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.cookies["django_language"] = "en"  # pages ignore Accept-Language
    client.force_login(agent)
    assert client.get("/telephony/blocked/").status_code == 403
    client.force_login(supervisor)
    assert client.post("/telephony/blocked/", {"number": "", "reason": "x"}).status_code == 400
    assert (
        client.post("/telephony/blocked/", {"number": "13800005678", "reason": "骚扰"}).status_code
        == 200
    )
    assert post(event("ring", 0)).json()["action"] == "reject"
    blocked = services.BlockedNumber.objects.get()
    client.post("/telephony/blocked/", {"unblock": blocked.pk})
    assert post(event("ring", 1, call_id="c2")).json()["action"] == "continue"
