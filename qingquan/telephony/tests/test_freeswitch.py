"""The FreeSWITCH event-socket driver against a fake event socket replaying recorded
streams: bill self-service then an agent (screen pop, answered contact, the recording
stored compressed); a busy agent then the next one; a caller dropping in the IVR, run by
`manage.py telephony_freeswitch`. Repeated, late and out-of-order events change nothing."""

from __future__ import annotations

import datetime as dt
import shutil
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from qingquan.customers.models import Bill
from qingquan.customers.tests import factories as cf
from qingquan.telephony import freeswitch, prompts, services
from qingquan.telephony.models import (
    AgentSkill,
    AgentState,
    AgentStatus,
    Call,
    CallOutcome,
    LineHealth,
)
from qingquan.telephony.pbx_drivers import serve_call
from qingquan.telephony.tests.ari_fake import silence_wav
from qingquan.telephony.tests.esl_fake import FakeEsl

STREAMS = Path(__file__).parent / "streams"
FS_RECORDINGS = "/var/lib/freeswitch/recordings/qingquan"
pytestmark = pytest.mark.skipif(
    not prompts.tools_available() or shutil.which("sox") is None,
    reason="espeak-ng and sox make the prompts",
)


@pytest.fixture
def setup(tmp_path: Path, settings: Any, monkeypatch: Any, standard_flow: Any) -> Any:
    settings.TELEPHONY_PROMPT_DIR = tmp_path / "prompts"
    settings.TELEPHONY_RECORDING_DIR = tmp_path / "recordings"
    settings.TELEPHONY_CALLBACK_OFFER_SECONDS = 10_000
    pushed: list[tuple[int, dict[str, Any]]] = []
    monkeypatch.setattr(
        services, "push_to_user", lambda *, user_id, event: pushed.append((user_id, event))
    )
    monkeypatch.setattr("qingquan.telephony.ivr.is_open", lambda *a, **k: True)
    here = tmp_path / "fs-recordings"
    here.mkdir()
    return pushed, freeswitch.Paths(recordings=FS_RECORDINGS, recordings_here=str(here))


def _agent(make_user: Any, extension: str, skill: str, idle_since: int) -> Any:
    agent = make_user("agent", extension=extension)
    AgentSkill.objects.create(user=agent, skill=skill)
    AgentState.objects.create(
        user=agent,
        status=AgentStatus.AVAILABLE,
        since=dt.datetime(2026, 1, 1, idle_since, tzinfo=dt.UTC),
    )
    return agent


def _replay(
    stream: str, paths: freeswitch.Paths, recorded_channel: str
) -> tuple[Any, list[str], freeswitch.FreeswitchDriver]:
    """Replay `stream` against the driver; FreeSWITCH has written the call's recording."""
    with FakeEsl(STREAMS / stream) as fake:
        return _replay_on(fake, paths, recorded_channel)


def _replay_on(
    fake: FakeEsl, paths: freeswitch.Paths, recorded_channel: str
) -> tuple[Any, list[str], freeswitch.FreeswitchDriver]:
    here = Path(paths.recordings_here)
    (here / f"fs-{recorded_channel}.wav").write_bytes(silence_wav(3.0))
    results: list[Any] = []

    def on_call(driver: freeswitch.FreeswitchDriver, caller: str, line: str) -> None:
        results.append(serve_call(driver, caller=caller, call_id=f"fs-{driver.channel}", line=line))

    esl = freeswitch.EslConnection("127.0.0.1", fake.port, "ClueCon")
    esl.connect()
    app = freeswitch.FreeswitchApp(esl, on_call=on_call, paths=paths)
    stop = threading.Event()
    reader = threading.Thread(target=app.run, args=(stop,), daemon=True)
    reader.start()
    deadline = time.monotonic() + 60
    while not (results and fake.done) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.3)  # the late events reach the app
    stop.set()
    reader.join(timeout=5)
    assert fake.mismatches == [], fake.commands
    assert fake.done and results, fake.commands
    return results[0], fake.commands, app.drivers[recorded_channel]


@pytest.mark.django_db(transaction=True)
def test_a_replayed_freeswitch_call_goes_through_the_ivr_to_an_agent(
    setup: Any, make_user: Any
) -> None:
    pushed, paths = setup
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
    agent = _agent(make_user, "8001", "billing", 1)
    channel = "3f0c2b9e-7d41-4c55-8a0e-1b6f2d9c4e01"

    result, commands, driver = _replay("freeswitch_bill_then_agent.json", paths, channel)

    assert result.ending == "transferred"
    call = Call.objects.get()  # the other extension's parked call is not the hotline's
    assert call.call_id == f"fs-{channel}" and call.line == "line1"
    assert "bill:ok" in call.ivr_trace and "q_billing:agent:8001" in call.ivr_trace
    # The key delivered twice was pressed once; the amount was read out.
    assert call.ivr_trace.count("main") == 1 and call.ivr_trace.count("after_bill") == 1
    assert any("一百二十八元五角" in text for text in driver.played)
    assert call.outcome == CallOutcome.ANSWERED and call.agent == agent
    assert (
        agent.pk,
        {"kind": "screen_pop", "call_id": call.pk, "url": f"/console/calls/{call.pk}/"},
    ) in pushed
    assert len([p for p in pushed if p[1]["kind"] == "screen_pop"]) == 1
    contact = call.contact
    assert contact is not None
    assert contact.outcome == "answered" and contact.agent == agent
    assert contact.recording_ref.endswith(".ogg") and Path(contact.recording_ref).exists()
    # The caller hung up: the app ended the agent's leg, once.
    assert commands.count(f"api uuid_kill {channel}") == 0
    assert len([c for c in commands if c.startswith("api uuid_kill")]) == 1
    assert Call.objects.live().count() == 0
    assert AgentState.objects.get(user=agent).status == AgentStatus.WRAP_UP


@pytest.mark.django_db(transaction=True)
def test_a_busy_agent_is_skipped_and_the_next_one_answers(setup: Any, make_user: Any) -> None:
    pushed, paths = setup
    busy = _agent(make_user, "8002", "complaint", 1)  # idle longest: offered first
    agent = _agent(make_user, "8003", "complaint", 2)
    channel = "7b2e4c10-93aa-4f1e-b7d2-5c0e8a6f3d22"

    result, commands, _driver = _replay("freeswitch_busy_agent_then_next.json", paths, channel)

    assert result.ending == "transferred" and result.agent == agent
    call = Call.objects.get()
    assert "q_complaint:agent:8002" in call.ivr_trace
    assert "q_complaint:agent:8003" in call.ivr_trace
    assert call.outcome == CallOutcome.ANSWERED and call.agent == agent
    assert [p[0] for p in pushed if p[1]["kind"] == "screen_pop"] == [agent.pk]
    # The agent hung up first: the app ended the caller's leg.
    assert f"api uuid_kill {channel}" in commands
    contact = call.contact
    assert contact is not None
    assert contact.outcome == "answered" and Path(contact.recording_ref).exists()
    assert AgentState.objects.get(user=busy).status == AgentStatus.AVAILABLE
    assert Call.objects.live().count() == 0


@pytest.mark.django_db(transaction=True)
def test_the_command_runs_a_call_dropped_in_the_ivr_and_reports_the_socket(
    setup: Any,
) -> None:
    _pushed, paths = setup
    with FakeEsl(STREAMS / "freeswitch_drop_in_ivr.json", hang_up_when_done=True) as fake:
        call_command(
            "telephony_freeswitch",
            "--port",
            str(fake.port),
            "--recordings",
            paths.recordings,
            "--recordings-here",
            paths.recordings_here,
        )
    assert fake.mismatches == [], fake.commands
    call = Call.objects.get()
    assert call.line == "line2" and call.ivr_trace[-1] == "caller_gone"
    assert call.outcome == CallOutcome.ABANDONED and Call.objects.live().count() == 0
    contact = call.contact
    assert contact is not None
    assert contact.outcome == "abandoned"
    # The socket closed at the end of the stream: the wallboard shows the fault.
    health = LineHealth.objects.get(line="*")
    assert not health.up and "closed" in health.detail


@pytest.mark.django_db(transaction=True)
def test_a_refused_password_is_a_clear_error_and_a_fault(setup: Any) -> None:
    with (
        FakeEsl(STREAMS / "freeswitch_drop_in_ivr.json", password="secret") as fake,
        pytest.raises(CommandError, match="authentication refused"),
    ):
        call_command("telephony_freeswitch", "--port", str(fake.port), "--password", "wrong")
    assert not LineHealth.objects.get(line="*").up


def test_event_plain_bodies_are_url_decoded() -> None:
    body = (
        b"Event-Name: DTMF\nUnique-ID: abc\nDTMF-Digit: %23\n"
        b"Event-Date-GMT: Tue,%2002%20Dec%202025%2002:00:00%20GMT\n\n"
    )
    event = freeswitch.parse_event(body)
    assert event["DTMF-Digit"] == "#"
    assert event["Event-Date-GMT"] == "Tue, 02 Dec 2025 02:00:00 GMT"
    assert freeswitch.event_id({"Core-UUID": "c", "Event-Sequence": "7"}) == "c/7"


@pytest.mark.django_db(transaction=True)
def test_a_real_capture_of_a_caller_cancelling_while_parked_ends_the_call(setup: Any) -> None:
    """Replays a session captured from a real FreeSWITCH (streams/README.md): the caller
    hangs up while parked, so the answer meets a channel already gone ("-ERR No such
    channel!"). The call ends as abandoned instead of the IVR thread dying with it live."""
    _pushed, paths = setup
    channel = "303c0f9f-4b32-4b9b-9f77-df0ca215bbe7"
    with FakeEsl(STREAMS / "freeswitch_real_cancel_while_parked.json") as fake:
        result, commands, _driver = _replay_on(fake, paths, channel)
    assert result.ending == "caller_gone"
    assert commands[-1] == f"api uuid_answer {channel}"
    # Heartbeats, CHANNEL_STATE, CODEC… were not subscribed to: FreeSWITCH keeps them back.
    assert "HEARTBEAT" in fake.skipped and "CHANNEL_PARK" not in fake.skipped
    call = Call.objects.get()
    assert call.line == "line2" and call.ivr_trace == ["caller_gone"]
    assert call.outcome == CallOutcome.ABANDONED and Call.objects.live().count() == 0
    assert call.contact is not None and call.contact.outcome == "abandoned"


@pytest.mark.django_db(transaction=True)
def test_real_freeswitch_events_carry_a_caller_through_the_ivr_to_an_agent(
    setup: Any, make_user: Any
) -> None:
    """The standard flow replayed with events captured from real FreeSWITCH switches
    (streams/README.md says which, and what is still written): the captured park, the
    playback completions (``Application-UUID``), URL-encoded ``DTMF-Digit`` (``%23``),
    a ``CHANNEL_BRIDGE`` naming the agent's leg in ``Other-Leg-Unique-ID`` and
    ``Bridge-B-Unique-ID``, and the captured ``CHANNEL_HANGUP_COMPLETE``."""
    pushed, paths = setup
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
    agent = _agent(make_user, "8001", "billing", 1)
    channel = "303c0f9f-4b32-4b9b-9f77-df0ca215bbe7"

    result, commands, driver = _replay(
        "freeswitch_real_events_bill_then_agent.json", paths, channel
    )

    assert result.ending == "transferred"
    call = Call.objects.get()
    assert call.call_id == f"fs-{channel}" and call.line == "line2"
    assert "bill:ok" in call.ivr_trace and "q_billing:agent:8001" in call.ivr_trace
    assert call.ivr_trace.count("main") == 1
    assert any("一百二十八元五角" in text for text in driver.played)
    assert call.outcome == CallOutcome.ANSWERED and call.agent == agent
    pops = [p for p in pushed if p[1]["kind"] == "screen_pop"]
    assert pops == [
        (agent.pk, {"kind": "screen_pop", "call_id": call.pk, "url": f"/console/calls/{call.pk}/"})
    ]
    contact = call.contact
    assert contact is not None and contact.outcome == "answered"
    assert contact.recording_ref.endswith(".ogg") and Path(contact.recording_ref).exists()
    assert len([c for c in commands if c.startswith("api uuid_kill")]) == 1
    assert Call.objects.live().count() == 0
    assert AgentState.objects.get(user=agent).status == AgentStatus.WRAP_UP
