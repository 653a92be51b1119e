"""The Asterisk ARI driver against a fake ARI replaying a recorded event stream: answer,
keys (one delivered twice), bill self-service, the agent's leg bridged (screen pop), the
hang-up (contact answered) and the finished recording, stored compressed."""

from __future__ import annotations

import datetime as dt
import shutil
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from qingquan.customers.models import Bill
from qingquan.customers.tests import factories as cf
from qingquan.telephony import ari, prompts, services
from qingquan.telephony.models import AgentSkill, AgentState, AgentStatus, Call, CallOutcome
from qingquan.telephony.pbx_drivers import serve_call
from qingquan.telephony.tests.ari_fake import FakeAri

STREAMS = Path(__file__).parent / "streams"
pytestmark = pytest.mark.skipif(
    not prompts.tools_available() or shutil.which("sox") is None,
    reason="espeak-ng and sox make the prompts",
)


@pytest.mark.django_db(transaction=True)
def test_a_replayed_asterisk_call_goes_through_the_ivr_to_an_agent(
    tmp_path: Path, settings: Any, make_user: Any, monkeypatch: Any, standard_flow: Any
) -> None:
    settings.TELEPHONY_PROMPT_DIR = tmp_path / "prompts"
    settings.TELEPHONY_RECORDING_DIR = tmp_path / "recordings"
    pushed: list[tuple[int, dict[str, Any]]] = []
    monkeypatch.setattr(
        services, "push_to_user", lambda *, user_id, event: pushed.append((user_id, event))
    )
    monkeypatch.setattr("qingquan.telephony.ivr.is_open", lambda *a, **k: True)
    account = cf.account(cust=cf.customer(phones=("13800005678",)), number="33020012")
    Bill.objects.create(
        account=account,
        period_start=dt.date(2026, 10, 1),
        period_end=dt.date(2026, 10, 31),
        previous_reading=Decimal("100"),
        current_reading=Decimal("130"),
        volume=Decimal("30"),
        water_amount=Decimal("100.00"),
        sewage_amount=Decimal("28.50"),
        total=Decimal("128.50"),
        due_date=dt.date(2026, 12, 15),
        issued_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
    )
    agent = make_user("agent", extension="8001")
    AgentSkill.objects.create(user=agent, skill="billing")
    AgentState.objects.create(
        user=agent, status=AgentStatus.AVAILABLE, since=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    )
    results: list[Any] = []

    def on_call(driver: ari.AriDriver, caller: str, line: str) -> None:
        results.append(
            serve_call(driver, caller=caller, call_id=f"ari-{driver.channel}", line=line)
        )

    port = 8107 + 100  # 8200 + helper number
    with FakeAri(STREAMS / "ari_bill_then_agent.json", port) as fake:
        client = ari.AriClient(
            f"http://127.0.0.1:{port}/ari",
            "qingquan",
            "secret",
            events_url=f"http://127.0.0.1:{port + 1}/ari",
        )
        app = ari.AriApp(client, on_call=on_call)
        stop = threading.Event()
        reader = threading.Thread(target=app.run, args=(stop,), daemon=True)
        reader.start()
        deadline = time.monotonic() + 60
        while not (results and fake.done) and time.monotonic() < deadline:
            time.sleep(0.1)
        stop.set()
        reader.join(timeout=5)
    assert fake.mismatches == [], fake.commands
    assert fake.done and results, fake.commands
    result = results[0]
    assert result.ending == "transferred"
    call = Call.objects.get()
    assert "bill:ok" in call.ivr_trace and "q_billing:agent:8001" in call.ivr_trace
    assert call.outcome == CallOutcome.ANSWERED and call.agent == agent
    assert (
        agent.pk,
        {"kind": "screen_pop", "call_id": call.pk, "url": f"/console/calls/{call.pk}/"},
    ) in pushed
    contact = call.contact
    assert contact is not None
    assert contact.outcome == "answered" and contact.recording_ref.endswith(".ogg")
    assert Path(contact.recording_ref).exists()
    # The key delivered twice was pressed once; the late hang-up changed nothing.
    assert call.ivr_trace.count("main") == 1
    assert Call.objects.live().count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_real_capture_of_a_caller_hanging_up_before_the_answer_ends_the_call(
    tmp_path: Path, settings: Any, standard_flow: Any
) -> None:
    """Events captured from a real Asterisk 20 (streams/README.md): the caller hangs up
    while ringing in Stasis (ChannelHangupRequest, StasisEnd, no ChannelDestroyed), so the
    answer meets a channel already gone (404). The call ends as abandoned instead of the
    IVR thread dying with the call left live."""
    settings.TELEPHONY_PROMPT_DIR = tmp_path / "prompts"
    results: list[Any] = []

    def on_call(driver: ari.AriDriver, caller: str, line: str) -> None:
        results.append(
            serve_call(driver, caller=caller, call_id=f"ari-{driver.channel}", line=line)
        )

    port = 8107 + 110
    with FakeAri(STREAMS / "ari_real_hangup_before_answer.json", port) as fake:
        client = ari.AriClient(
            f"http://127.0.0.1:{port}/ari",
            "qingquan",
            "secret",
            events_url=f"http://127.0.0.1:{port + 1}/ari",
        )
        app = ari.AriApp(client, on_call=on_call)
        stop = threading.Event()
        reader = threading.Thread(target=app.run, args=(stop,), daemon=True)
        reader.start()
        deadline = time.monotonic() + 30
        while not (results and fake.done) and time.monotonic() < deadline:
            time.sleep(0.1)
        stop.set()
        reader.join(timeout=5)
    assert fake.mismatches == [] and fake.done and results, fake.commands
    assert results[0].ending == "caller_gone"
    call = Call.objects.get()
    assert call.call_id == "ari-1697459182.15" and call.ivr_trace == ["caller_gone"]
    assert call.outcome == CallOutcome.ABANDONED and Call.objects.live().count() == 0


@pytest.mark.django_db(transaction=True)
def test_real_asterisk_events_carry_a_caller_through_the_ivr_to_an_agent(
    tmp_path: Path, settings: Any, make_user: Any, monkeypatch: Any, standard_flow: Any
) -> None:
    """The standard flow replayed with ARI events captured from a production Asterisk
    (streams/README.md): ``duration_ms`` on keys, ``PlaybackFinished`` with its keys in
    another order, bridge events with ``creator``/``video_mode``, hang-up causes 18, and
    recording events whose timestamps carry no UTC offset."""
    settings.TELEPHONY_PROMPT_DIR = tmp_path / "prompts"
    settings.TELEPHONY_RECORDING_DIR = tmp_path / "recordings"
    pushed: list[tuple[int, dict[str, Any]]] = []
    monkeypatch.setattr(
        services, "push_to_user", lambda *, user_id, event: pushed.append((user_id, event))
    )
    monkeypatch.setattr("qingquan.telephony.ivr.is_open", lambda *a, **k: True)
    account = cf.account(cust=cf.customer(phones=("13800005678",)), number="33020012")
    Bill.objects.create(
        account=account,
        period_start=dt.date(2026, 10, 1),
        period_end=dt.date(2026, 10, 31),
        previous_reading=Decimal("100"),
        current_reading=Decimal("130"),
        volume=Decimal("30"),
        water_amount=Decimal("100.00"),
        sewage_amount=Decimal("28.50"),
        total=Decimal("128.50"),
        due_date=dt.date(2026, 12, 15),
        issued_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
    )
    agent = make_user("agent", extension="8001")
    AgentSkill.objects.create(user=agent, skill="billing")
    AgentState.objects.create(
        user=agent, status=AgentStatus.AVAILABLE, since=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    )
    results: list[Any] = []

    def on_call(driver: ari.AriDriver, caller: str, line: str) -> None:
        results.append(
            serve_call(driver, caller=caller, call_id=f"ari-{driver.channel}", line=line)
        )

    port = 8107 + 120
    with FakeAri(STREAMS / "ari_real_events_bill_then_agent.json", port) as fake:
        client = ari.AriClient(
            f"http://127.0.0.1:{port}/ari",
            "qingquan",
            "secret",
            events_url=f"http://127.0.0.1:{port + 1}/ari",
        )
        app = ari.AriApp(client, on_call=on_call)
        stop = threading.Event()
        reader = threading.Thread(target=app.run, args=(stop,), daemon=True)
        reader.start()
        deadline = time.monotonic() + 60
        while not (results and fake.done) and time.monotonic() < deadline:
            time.sleep(0.1)
        stop.set()
        reader.join(timeout=5)
    assert fake.mismatches == [] and fake.done and results, fake.commands
    assert results[0].ending == "transferred"
    call = Call.objects.get()
    assert "bill:ok" in call.ivr_trace and "q_billing:agent:8001" in call.ivr_trace
    assert call.ivr_trace.count("main") == 1
    assert call.outcome == CallOutcome.ANSWERED and call.agent == agent
    assert [p for p in pushed if p[1]["kind"] == "screen_pop"] == [
        (agent.pk, {"kind": "screen_pop", "call_id": call.pk, "url": f"/console/calls/{call.pk}/"})
    ]
    contact = call.contact
    assert contact is not None and contact.outcome == "answered"
    assert contact.recording_ref.endswith(".ogg") and Path(contact.recording_ref).exists()
    assert Call.objects.live().count() == 0
