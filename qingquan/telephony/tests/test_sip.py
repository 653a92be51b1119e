"""A real SIP call on this machine: SIPp calls a baresip IVR line, presses keys as RFC 2833
events (bill self-service, then an agent), is REFERred to the agent's baresip endpoint,
which rings and answers; the console pops the caller's screen, the call is recorded, and
the hang-up ends the contact as answered.

Needs Debian's baresip, sip-tester (SIPp), espeak-ng and sox: `bin/setup --browser` (run by
`bin/test`) installs them when run as root.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from qingquan.customers.models import Bill
from qingquan.customers.tests import factories as cf
from qingquan.telephony import baresip, services, sipp
from qingquan.telephony.models import AgentSkill, AgentState, AgentStatus, Call, CallOutcome
from qingquan.tickets.models import Contact

pytestmark = [
    pytest.mark.sip,
    pytest.mark.skipif(
        not (baresip.available() and sipp.available()),
        reason="baresip, sip-tester (SIPp), espeak-ng and sox are not installed: run "
        "bin/setup --browser as root (apt-get install espeak-ng sox sip-tester baresip)",
    ),
]

CALLER = "13800005678"


def _wait_for(check: Any, timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    return check()


@pytest.mark.django_db(transaction=True)
def test_a_sip_call_goes_through_the_ivr_to_an_agent(
    tmp_path: Path, settings: Any, make_user: Any, monkeypatch: Any
) -> None:
    settings.TELEPHONY_PROMPT_DIR = tmp_path / "prompts"
    settings.TELEPHONY_RECORDING_DIR = tmp_path / "recordings"
    pushed: list[tuple[int, dict[str, Any]]] = []
    monkeypatch.setattr(
        services, "push_to_user", lambda *, user_id, event: pushed.append((user_id, event))
    )
    account = cf.account(cust=cf.customer(phones=(CALLER,)), number="33020012")
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

    stack = baresip.Stack(root=tmp_path / "stack", lines=1, seats=["8001"], answer_after=1.0)
    stack.start()
    try:
        line = stack.line_instances[0]
        started = time.monotonic()
        done = sipp.run(
            target=f"127.0.0.1:{line.sip_port}",
            scenario_text=sipp.scenario(
                keys="1,33020012#,,,,0", talk_ms=3000, workdir=tmp_path / "sipp"
            ),
            workdir=tmp_path / "sipp",
            sip_port=5230,
            media_port=5290,
            timeout=90,
        )
        assert done.returncode == 0, done.stdout[-3000:] + _logs(tmp_path)
        call = _wait_for(lambda: Call.objects.filter(state="ended").first())
        assert time.monotonic() - started < 100
    finally:
        stack.stop()

    assert call is not None, _logs(tmp_path)
    # The IVR answered, the keys chose bill self-service and the amount was played.
    assert "bill:ok" in call.ivr_trace and "q_billing:agent:8001" in call.ivr_trace
    result = stack.results[0]
    assert result.ending == "transferred"
    # The agent's endpoint rang and answered; the console popped the caller's screen.
    assert ("8001", "CALL_INCOMING") in stack.seat_events
    assert ("8001", "CALL_ESTABLISHED") in stack.seat_events
    assert (
        agent.pk,
        {"kind": "screen_pop", "call_id": call.pk, "url": f"/console/calls/{call.pk}/"},
    ) in pushed
    # Hang-up ended the contact as answered, with the recording of the talk.
    assert call.outcome == CallOutcome.ANSWERED and call.agent == agent
    assert call.talk_seconds is not None and call.talk_seconds >= 2
    contact = Contact.objects.get(pk=call.contact_id)
    assert contact.outcome == "answered" and contact.agent == agent
    # Stored compressed (Ogg Vorbis, two channels at 8 kHz).
    recording = Path(contact.recording_ref)
    assert recording.suffix == ".ogg" and _seconds(recording) >= 2, contact.recording_ref
    assert _channels_rate(recording) == ("2", "8000")
    # The IVR leg (prompts, the amount) is recorded beside it.
    ivr_leg = list((tmp_path / "recordings").glob("*-line1.ogg"))
    assert ivr_leg and _seconds(ivr_leg[0]) > 5
    assert AgentState.objects.get(user=agent).status == AgentStatus.WRAP_UP


def _seconds(path: Path) -> float:
    out = subprocess.run(["soxi", "-D", str(path)], capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def _channels_rate(path: Path) -> tuple[str, str]:
    def info(flag: str) -> str:
        result = subprocess.run(["soxi", flag, str(path)], capture_output=True, text=True)
        return result.stdout.strip()

    return info("-c"), info("-r")


def _logs(root: Path) -> str:
    out = []
    for path in sorted(root.rglob("*.log")) + sorted(root.rglob("*errors.log")):
        out.append(f"--- {path}\n{path.read_text(errors='replace')[-2000:]}")
    return "\n".join(out)
