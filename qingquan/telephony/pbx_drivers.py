"""What the Asterisk (ARI) and FreeSWITCH (event socket) drivers share.

Each PBX connection turns its wire events into a few normalised ones on a per-call queue
(:class:`Ev`): ``answered``, ``dtmf`` (a key), ``playback_done``, ``bridged`` (the agent's
leg answered and joined the caller), ``transfer_failed``, ``hangup`` (of the caller's or
the agent's leg) and ``recording`` (a finished recording's name). :class:`QueueDriver`
implements the IVR :class:`~qingquan.telephony.ivr.Driver` on that queue, so the engine
runs the same on baresip, Asterisk and FreeSWITCH; :func:`serve_call` runs one call:
the IVR, then, once the agent's leg is bridged, the agent's answer (screen pop) and the
hang-up (contact outcome, recording) through the same services as the CTI webhook.

A repeated event (the same PBX event id) changes nothing: the queue drops it; a late
one (a key after the hang-up, a second hang-up) finds the call over, and the CTI services
answer a repeated event id with the first reply.
"""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import close_old_connections

from qingquan.telephony.ivr import CallerGone, Speech

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Ev:
    kind: str
    value: str = ""
    leg: str = "caller"  # "caller" or "agent"


@dataclass
class CallEvents:
    """The normalised events of one call, without duplicates (by the PBX's event id)."""

    events: queue.Queue[Ev] = field(default_factory=queue.Queue)
    seen: set[str] = field(default_factory=set)

    def put(self, ev: Ev, *, event_id: str = "") -> None:
        if event_id:
            if event_id in self.seen:
                return
            self.seen.add(event_id)
        self.events.put(ev)


class QueueDriver:
    """The IVR driver over a call's normalised events; subclasses send the commands."""

    agent_extension = ""

    def __init__(self, call: CallEvents) -> None:
        self.call = call
        self.keys: list[str] = []
        self.gone = False
        self.recordings: list[str] = []
        self.played: list[str] = []
        self.playback = ""  # the id of the prompt playing now, when the PBX gives one

    # commands (the PBX's wire format) ----------------------------------------------
    def _answer(self) -> None:
        raise NotImplementedError

    def _play(self, speech: Speech) -> None:
        raise NotImplementedError

    def _stop_playback(self) -> None:
        raise NotImplementedError

    def _bridge_to(self, target: str) -> None:
        raise NotImplementedError

    def _record(self, name: str) -> str:
        raise NotImplementedError

    def _hangup(self, leg: str = "caller") -> None:
        raise NotImplementedError

    # events -------------------------------------------------------------------------
    def _next(self, timeout: float) -> Ev | None:
        try:
            ev = self.call.events.get(timeout=max(timeout, 0.0))
        except queue.Empty:
            return None
        if ev.kind == "dtmf":
            self.keys.append(ev.value)
        elif ev.kind == "hangup" and ev.leg == "caller":
            self.gone = True
        elif ev.kind == "recording":
            self.recordings.append(ev.value)
        return ev

    def _until(self, kinds: set[str], timeout: float, *, until_key: bool = False) -> Ev | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.gone:
                raise CallerGone
            if until_key and self.keys:
                return None
            ev = self._next(min(0.1, deadline - time.monotonic()))
            if ev is not None and ev.kind in kinds:
                return ev
        if self.gone:
            raise CallerGone
        return None

    # the Driver interface -------------------------------------------------------------
    def _on_caller(self, send: Callable[[], None]) -> None:
        """Send a command on the caller's channel. Real streams show callers hanging up
        while a command is on its way (Asterisk answers 404, FreeSWITCH "-ERR No such
        channel!"): when the hang-up event follows within 2 s, the caller is gone, not the
        IVR broken, and the call ends as abandoned instead of being left live."""
        try:
            send()
        except Exception:
            self._until(set(), 2)  # raises CallerGone once the hang-up arrives
            raise

    def answer(self) -> None:
        self._on_caller(self._answer)
        self._until({"answered"}, 10)

    def play(self, speech: Speech) -> None:
        if self.gone:
            raise CallerGone
        self.played.append(speech.text)
        self.playback = ""
        self._on_caller(lambda: self._play(speech))
        while True:
            done = self._until({"playback_done"}, 120, until_key=True)
            # Another prompt's end (one cut short before) does not end this one.
            if done is None or not done.value or done.value == self.playback:
                break
        if done is None and self.keys:
            self._stop_playback()  # barge-in: a key cuts the prompt

    def collect(self, *, max_digits: int, timeout: float, terminator: str = "#") -> str:
        digits = ""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.gone:
                raise CallerGone
            while self.keys:
                key = self.keys.pop(0)
                if key == terminator and max_digits > 1:
                    return digits
                digits += key
                if len(digits) >= max_digits:
                    return digits
                deadline = time.monotonic() + timeout
            self._next(min(0.1, max(deadline - time.monotonic(), 0)))
        return digits

    def transfer(self, target: str) -> bool:
        if self.gone:
            raise CallerGone
        self.agent_extension = target.split("/")[-1].split("@")[0].removeprefix("sip:")
        self._bridge_to(target)
        ev = self._until({"bridged", "transfer_failed"}, 30)
        return ev is not None and ev.kind == "bridged"

    def record(self, name: str) -> str:
        return self._record(name)

    def wait(self, seconds: float) -> None:
        self._until(set(), seconds)

    def hangup(self) -> None:
        if not self.gone:
            self._hangup("caller")

    def healthy(self) -> bool:
        return True

    # after the transfer ----------------------------------------------------------------
    def follow_bridge(self, *, timeout: float = 4 * 3600) -> str:
        """Wait for either leg to hang up, end the other, and return the name of the
        bridged call's recording once the PBX reports it finished ("" if none came)."""
        deadline = time.monotonic() + timeout
        ended = None
        while ended is None and time.monotonic() < deadline:
            ev = self._next(0.2)
            if ev is not None and ev.kind == "hangup":
                ended = ev
        if ended is not None:
            self._hangup("agent" if ended.leg == "caller" else "caller")
        finish = time.monotonic() + 10
        while not self.recordings and time.monotonic() < finish:
            self._next(0.2)
        return self.recordings[-1] if self.recordings else ""


def serve_call(driver: QueueDriver, *, caller: str, call_id: str, line: str) -> Any:
    """Run one call on a PBX driver: the IVR, then the agent's leg (answer → screen pop,
    hang-up → outcome and recording)."""
    from qingquan.telephony import ivr

    close_old_connections()
    try:
        result = ivr.Session(
            driver=driver,
            caller=caller,
            call_id=call_id,
            line=line,
            agent_uri=lambda user: str(user.extension),
        ).run()
        if result.ending == "transferred" and driver.agent_extension:
            extension = driver.agent_extension
            ivr.seat_answered(extension=extension)
            recording = driver.follow_bridge()
            ivr.seat_ended(extension=extension, recording=fetch_recording(driver, recording))
        return result
    finally:
        close_old_connections()


def fetch_recording(driver: Any, name: str) -> str:
    """Bring a PBX's finished recording into the recordings folder, compressed; the
    driver's `download(name) -> bytes` reads it from the PBX."""
    if not name:
        return ""
    from pathlib import Path

    from django.conf import settings

    from qingquan.telephony import recordings

    try:
        data = driver.download(name)
    except Exception:
        log.exception("recording %s could not be fetched", name)
        return ""
    root = Path(settings.TELEPHONY_RECORDING_DIR)
    root.mkdir(parents=True, exist_ok=True)
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in Path(name).name)[:80]
    raw = root / f"{Path(safe).stem}.raw.wav"
    raw.write_bytes(data)
    try:
        stored = recordings.store([raw], root / f"{Path(safe).stem}.ogg")
    finally:
        raw.unlink(missing_ok=True)
    return str(stored) if stored else ""
