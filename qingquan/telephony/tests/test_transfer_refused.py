"""The baresip line when the agent's endpoint refuses the transfer: the seat reports the
call closed without an answer and the line's REFER fails (TRANSFER_FAILED). The caller is
still on the line: the refusing agent is no longer shown ringing and keeps their state,
and the queue offers the next agent, who answers (screen pop, answered contact)."""

from __future__ import annotations

import datetime as dt
import queue
import shutil
import threading
from pathlib import Path
from typing import Any

import pytest

from qingquan.telephony import baresip, ivr, prompts, services
from qingquan.telephony.ivr import Session
from qingquan.telephony.models import AgentState, AgentStatus, Call, CallOutcome, CallState
from qingquan.telephony.tests.ari_fake import silence_wav

OPEN = dt.datetime(2026, 12, 2, 2, 0, tzinfo=dt.UTC)  # a Wednesday, 10:00 in Shanghai
pytestmark = pytest.mark.skipif(shutil.which("sox") is None, reason="sox pads the prompts")


class FakeCtrl:
    """baresip's control connection for one IVR line: the caller presses 0; a REFER to
    8001 is refused by that agent's endpoint, one to 8002 is followed (the line's leg
    closes, the seat answers)."""

    def __init__(self) -> None:
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.closed = threading.Event()
        self.commands: list[tuple[str, str]] = []

    def command(self, command: str, params: str = "", *, timeout: float = 5) -> dict[str, Any]:
        self.commands.append((command, params))
        if command == "accept":
            self.events.put({"type": "CALL_ESTABLISHED", "id": "c1"})
            self.events.put({"type": "CALL_DTMF_START", "id": "c1", "param": "0"})
        elif command == "transfer" and params == "8001":
            # The seat reports first (its endpoint answered 486), then the REFER's NOTIFY.
            ivr.seat_ended(extension="8001")
            self.events.put({"type": "TRANSFER_FAILED", "id": "c1", "param": "486 Busy Here"})
        elif command == "transfer":
            self.events.put({"type": "CALL_CLOSED", "id": "c1", "param": "Connection reset"})
        return {"response": True, "ok": True}


@pytest.mark.django_db(transaction=True)
def test_a_refused_transfer_frees_the_agent_and_the_next_one_answers(
    tmp_path: Path, settings: Any, make_user: Any, monkeypatch: Any, standard_flow: Any
) -> None:
    settings.TELEPHONY_PROMPT_DIR = tmp_path / "prompts"
    settings.TELEPHONY_CALLBACK_OFFER_SECONDS = 10_000
    pushed: list[tuple[int, dict[str, Any]]] = []
    monkeypatch.setattr(
        services, "push_to_user", lambda *, user_id, event: pushed.append((user_id, event))
    )
    monkeypatch.setattr("qingquan.telephony.ivr.is_open", lambda *a, **k: True)
    quiet = tmp_path / "quiet.wav"
    quiet.write_bytes(silence_wav(0.2))
    monkeypatch.setattr(prompts, "audio_for", lambda **kwargs: quiet)
    refusing, answering = make_user("agent", extension="8001"), make_user("agent", extension="8002")
    for hour, agent in enumerate((refusing, answering)):
        AgentState.objects.create(
            user=agent, status=AgentStatus.AVAILABLE, since=OPEN - dt.timedelta(hours=2 - hour)
        )
    ctrl = FakeCtrl()
    instance = baresip.Instance(
        name="line1", user="ivr", sip_port=5160, rtp_ports=(5240, 5242), root=tmp_path
    )
    driver = baresip.BaresipDriver(ctrl, instance=instance, call_id="c1", silence=quiet)  # type: ignore[arg-type]

    result = Session(
        driver=driver, caller="13800005678", line="line1", call_id="sip-c1", now=lambda: OPEN
    ).run()
    ivr.seat_answered(extension="8002")

    assert [p for c, p in ctrl.commands if c == "transfer"] == ["8001", "8002"]
    assert result.ending == "transferred" and result.agent == answering
    call = Call.objects.get()
    assert "q_general:agent:8001" in call.ivr_trace and "q_general:agent:8002" in call.ivr_trace
    assert call.state == CallState.ANSWERED and call.agent == answering
    assert [user for user, event in pushed if event["kind"] == "screen_pop"] == [answering.pk]
    # The refusing agent is not left ringing and kept their state.
    assert not Call.objects.filter(state=CallState.RINGING, extension="8001").exists()
    assert AgentState.objects.get(user=refusing).status == AgentStatus.AVAILABLE
    assert call.outcome != CallOutcome.ABANDONED
