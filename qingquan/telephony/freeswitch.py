"""FreeSWITCH driver over the event socket (ESL, inbound mode), decision 0012.

FreeSWITCH's dialplan parks the hotline's calls with the IVR line in a channel variable
(``set qingquan_line=line1``, ``park``); this module keeps one event-socket connection
(``mod_event_socket``, port 8021), subscribes to a few events and drives each parked call:

* answer ``api uuid_answer <uuid>``; record the whole call, both parties in stereo
  (``uuid_setvar <uuid> RECORD_STEREO true``, ``api uuid_record <uuid> start <file>``);
* play: ``sendmsg <uuid>`` executing ``playback`` with an ``Event-UUID`` that the
  ``CHANNEL_EXECUTE_COMPLETE`` event gives back as ``Application-UUID``; a key stops it
  (``api uuid_break <uuid> all``);
* transfer to an agent: ``sendmsg`` executing ``bridge`` to ``user/<ext>`` with an
  ``origination_uuid`` we choose, so the agent's leg is known before it rings;
  ``CHANNEL_BRIDGE`` (the agent answered) pops their screen, the bridge application
  completing before it (``originate_disposition`` USER_BUSY, NO_ANSWER…) is a failed
  transfer and the queue offers the next agent;
* hang-up ``api uuid_kill <uuid>``; ``RECORD_STOP`` names the finished file, read from
  the folder FreeSWITCH records into (shared with this host) and stored compressed.

Events used: ``CHANNEL_PARK``, ``CHANNEL_ANSWER``, ``DTMF``, ``CHANNEL_EXECUTE_COMPLETE``,
``CHANNEL_BRIDGE``, ``CHANNEL_HANGUP_COMPLETE``, ``RECORD_STOP``. Each FreeSWITCH event
carries ``Core-UUID`` and a rising ``Event-Sequence``: a repeated one is dropped; events
of calls that are not ours, or that come after the call is over, change nothing.

No ESL library is used (decision 0012 says why): the protocol is lines of headers and a
``Content-Length`` body, read here by one thread; commands go out under a lock and their
replies come back in order on the same socket.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from qingquan.telephony import prompts
from qingquan.telephony.ivr import Speech
from qingquan.telephony.pbx_drivers import CallEvents, Ev, QueueDriver

log = logging.getLogger(__name__)

EVENTS = (
    "CHANNEL_PARK CHANNEL_ANSWER DTMF CHANNEL_EXECUTE_COMPLETE CHANNEL_BRIDGE "
    "CHANNEL_HANGUP_COMPLETE RECORD_STOP"
)
LINE_VARIABLE = "variable_qingquan_line"


class EslError(Exception):
    """The event socket refused a command or closed."""


# ---------------------------------------------------------------------------
# The wire: messages of headers and an optional body
# ---------------------------------------------------------------------------


def read_message(stream: Any) -> tuple[dict[str, str], bytes]:
    """One message from the socket's file: its headers and its body ("" if none)."""
    headers: dict[str, str] = {}
    while True:
        line = stream.readline()
        if not line:
            raise EslError("the event socket closed")
        text = line.decode("utf-8", "replace").rstrip("\r\n")
        if not text:
            if headers:
                break
            continue  # blank lines between messages
        name, _sep, value = text.partition(":")
        headers[name.strip()] = value.strip()
    length = int(headers.get("Content-Length", "0") or 0)
    body = stream.read(length) if length else b""
    if length and len(body) < length:
        raise EslError("the event socket closed in a message")
    return headers, body


def parse_event(body: bytes) -> dict[str, str]:
    """A ``text/event-plain`` body: URL-encoded headers, then the event's own body."""
    text = body.decode("utf-8", "replace")
    head, _sep, rest = text.partition("\n\n")
    event: dict[str, str] = {}
    for line in head.splitlines():
        name, sep, value = line.partition(": ")
        if sep:
            event[name] = unquote(value)
    if rest:
        event["_body"] = rest
    return event


def event_id(event: dict[str, str]) -> str:
    sequence = event.get("Event-Sequence", "")
    return f"{event.get('Core-UUID', '')}/{sequence}" if sequence else ""


# ---------------------------------------------------------------------------
# The connection
# ---------------------------------------------------------------------------


class EslConnection:
    """One inbound event-socket connection: authenticate, subscribe, send commands from
    any thread (replies in order), and hand every event to `on_event` on the reader."""

    def __init__(self, host: str, port: int, password: str, *, timeout: float = 10) -> None:
        self.host, self.port, self.password, self.timeout = host, port, password, timeout
        self.sock: socket.socket | None = None
        self.stream: Any = None
        self.send_lock = threading.Lock()
        self.replies: queue.Queue[tuple[dict[str, str], bytes] | None] = queue.Queue()
        self.closed = threading.Event()

    def connect(self) -> None:
        self.sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        self.stream = self.sock.makefile("rb")
        headers, _body = read_message(self.stream)
        if headers.get("Content-Type") != "auth/request":
            raise EslError(f"not an event socket: {headers}")
        self._write(f"auth {self.password}")
        reply, _ = read_message(self.stream)
        if not reply.get("Reply-Text", "").startswith("+OK"):
            raise EslError(f"authentication refused: {reply.get('Reply-Text', '')}")
        self._write(f"event plain {EVENTS}")
        reply, _ = read_message(self.stream)
        if not reply.get("Reply-Text", "").startswith("+OK"):
            raise EslError(f"subscription refused: {reply.get('Reply-Text', '')}")
        self.sock.settimeout(None)

    def _write(self, text: str) -> None:
        assert self.sock is not None
        self.sock.sendall(text.encode() + b"\n\n")

    def command(self, text: str) -> str:
        """Send one command (``api …``, ``sendmsg …``) and return its reply text; an
        ``-ERR`` reply raises :class:`EslError`."""
        with self.send_lock:
            if self.closed.is_set():
                raise EslError("the event socket closed")
            self._write(text)
            try:
                got = self.replies.get(timeout=self.timeout)
            except queue.Empty:
                raise EslError(f"no reply to {text.splitlines()[0]}") from None
        if got is None:
            raise EslError("the event socket closed")
        headers, body = got
        reply = body.decode("utf-8", "replace").strip() or headers.get("Reply-Text", "")
        if reply.startswith("-ERR"):
            raise EslError(reply)
        return reply

    def api(self, command: str) -> str:
        return self.command(f"api {command}")

    def execute(self, channel: str, app: str, arg: str, *, app_uuid: str) -> None:
        """Run a dialplan application on a (parked) channel, asynchronously."""
        self.command(
            f"sendmsg {channel}\ncall-command: execute\nexecute-app-name: {app}\n"
            f"execute-app-arg: {arg}\nEvent-UUID: {app_uuid}"
        )

    def read_loop(self, on_event: Callable[[dict[str, str]], None]) -> None:
        """Read until the socket closes: replies to the senders, events to `on_event`."""
        try:
            while True:
                headers, body = read_message(self.stream)
                kind = headers.get("Content-Type", "")
                if kind in ("command/reply", "api/response"):
                    self.replies.put((headers, body))
                elif kind == "text/event-plain":
                    try:
                        on_event(parse_event(body))
                    except Exception:
                        log.exception("FreeSWITCH event not handled")
                elif kind == "text/disconnect-notice":
                    break
        except (EslError, OSError):
            pass
        finally:
            self.closed.set()
            self.replies.put(None)

    def close(self) -> None:
        self.closed.set()
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_RDWR)
            self.sock.close()


# ---------------------------------------------------------------------------
# The driver of one call
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Paths:
    """Where FreeSWITCH finds the prompts and writes recordings (its own file system),
    and where this host sees the recordings folder (a shared mount)."""

    sounds: str = "/usr/share/freeswitch/sounds/qingquan"
    recordings: str = "/var/lib/freeswitch/recordings/qingquan"
    recordings_here: str = ""
    agent_dial: str = "user/{extension}"


class FreeswitchDriver(QueueDriver):
    """The IVR driver for one parked caller channel on FreeSWITCH."""

    def __init__(
        self, esl: EslConnection, channel: str, call: CallEvents, *, paths: Paths, caller: str
    ) -> None:
        super().__init__(call)
        self.esl = esl
        self.channel = channel
        self.paths = paths
        self.caller = caller
        self.agent_channel = ""
        self.bridge_app = ""  # the Event-UUID of the bridge being tried
        self.bridged = False

    def _answer(self) -> None:
        self.esl.api(f"uuid_answer {self.channel}")

    def _play(self, speech: Speech) -> None:
        audio = prompts.audio_for(key=speech.key, text=speech.text, dynamic=speech.dynamic)
        self.playback = str(uuid.uuid4())
        self.esl.execute(
            self.channel, "playback", f"{self.paths.sounds}/{audio.name}", app_uuid=self.playback
        )

    def _stop_playback(self) -> None:
        with contextlib.suppress(EslError):  # it may have ended meanwhile
            self.esl.api(f"uuid_break {self.channel} all")

    def _bridge_to(self, target: str) -> None:
        dial = target if "/" in target else self.paths.agent_dial.format(extension=target)
        self.agent_channel = str(uuid.uuid4())
        self.bridge_app = str(uuid.uuid4())
        self.bridged = False
        options = (
            f"origination_uuid={self.agent_channel},"
            f"origination_caller_id_number={self.caller or 'unknown'},call_timeout=30"
        )
        try:
            self.esl.execute(
                self.channel, "bridge", f"{{{options}}}{dial}", app_uuid=self.bridge_app
            )
        except EslError as error:
            self.call.put(Ev("transfer_failed", str(error), leg="agent"))

    def _record(self, name: str) -> str:
        path = f"{self.paths.recordings}/{name}.wav"
        try:
            self.esl.api(f"uuid_setvar {self.channel} RECORD_STEREO true")
            self.esl.api(f"uuid_record {self.channel} start {path}")
        except EslError:
            log.exception("recording %s did not start", name)
            return ""
        return f"freeswitch:{path}"

    def _hangup(self, leg: str = "caller") -> None:
        channel = self.channel if leg == "caller" else self.agent_channel
        if channel:
            with contextlib.suppress(EslError):  # it may be gone already
                self.esl.api(f"uuid_kill {channel}")

    def download(self, name: str) -> bytes:
        """A finished recording, read where this host sees FreeSWITCH's folder."""
        here = self.paths.recordings_here or self.paths.recordings
        path = Path(name)
        if not name.startswith(self.paths.recordings + "/") or ".." in path.parts:
            raise EslError(f"recording outside {self.paths.recordings}: {name}")
        return (Path(here) / name.removeprefix(self.paths.recordings + "/")).read_bytes()


# ---------------------------------------------------------------------------
# The application: events sorted into calls
# ---------------------------------------------------------------------------


class FreeswitchApp:
    """Sorts one FreeSWITCH's events into calls and runs each call on a thread."""

    def __init__(
        self,
        esl: EslConnection,
        *,
        on_call: Callable[[FreeswitchDriver, str, str], None],
        paths: Paths | None = None,
    ) -> None:
        self.esl = esl
        self.on_call = on_call
        self.paths = paths or Paths()
        self.drivers: dict[str, FreeswitchDriver] = {}  # by caller channel
        self.threads: list[threading.Thread] = []
        self.lock = threading.Lock()

    def _driver_of(self, channel: str) -> tuple[FreeswitchDriver | None, str]:
        with self.lock:
            driver = self.drivers.get(channel)
            if driver is not None:
                return driver, "caller"
            for candidate in self.drivers.values():
                if candidate.agent_channel and candidate.agent_channel == channel:
                    return candidate, "agent"
        return None, ""

    def handle(self, event: dict[str, str]) -> None:
        """One event from the socket (never sends a command: the reader must go on)."""
        kind = event.get("Event-Name", "")
        channel = event.get("Unique-ID", "")
        if kind == "CHANNEL_PARK":
            self._parked(event, channel)
            return
        driver, leg = self._driver_of(channel)
        if driver is None:
            return  # not one of the hotline's calls
        normalised = self._normalise(kind, event, driver, leg)
        if normalised is not None:
            driver.call.put(normalised, event_id=event_id(event))

    def _parked(self, event: dict[str, str], channel: str) -> None:
        line = event.get(LINE_VARIABLE, "")
        if not line or not channel:
            return  # a parked call that is not the hotline's
        with self.lock:
            if channel in self.drivers:
                return  # parked again (after a bridge) or a repeated event
            caller = event.get("Caller-Caller-ID-Number", "")
            driver = FreeswitchDriver(
                self.esl, channel, CallEvents(), paths=self.paths, caller=caller
            )
            self.drivers[channel] = driver
        thread = threading.Thread(
            target=self.on_call, args=(driver, caller, line), daemon=True, name=channel
        )
        self.threads.append(thread)
        thread.start()

    @staticmethod
    def _normalise(
        kind: str, event: dict[str, str], driver: FreeswitchDriver, leg: str
    ) -> Ev | None:
        if kind == "CHANNEL_ANSWER":
            return Ev("answered", leg=leg)
        if kind == "DTMF" and leg == "caller":
            return Ev("dtmf", event.get("DTMF-Digit", ""), leg=leg)
        if kind == "CHANNEL_EXECUTE_COMPLETE" and leg == "caller":
            app = event.get("Application", "")
            app_uuid = event.get("Application-UUID", "")
            if app == "playback":
                return Ev("playback_done", app_uuid, leg=leg)
            if app == "bridge" and app_uuid == driver.bridge_app and not driver.bridged:
                cause = event.get("variable_originate_disposition", "")
                return Ev("transfer_failed", cause, leg="agent")
            return None
        if kind == "CHANNEL_BRIDGE" and leg == "caller":
            other = event.get("Other-Leg-Unique-ID", "") or event.get("Bridge-B-Unique-ID", "")
            if other and other == driver.agent_channel and not driver.bridged:
                driver.bridged = True
                return Ev("bridged", leg="agent")
            return None
        if kind == "CHANNEL_HANGUP_COMPLETE":
            if leg == "agent" and not driver.bridged:
                return None  # the bridge application's completion says why it failed
            return Ev("hangup", event.get("Hangup-Cause", ""), leg=leg)
        if kind == "RECORD_STOP" and leg == "caller":
            return Ev("recording", event.get("Record-File-Path", ""), leg=leg)
        return None

    def run(self, stop: threading.Event | None = None) -> None:
        """Read events until the socket closes (or `stop` is set; reconnecting is the
        supervisor's job)."""
        if stop is not None:

            def close_on_stop() -> None:
                stop.wait()
                self.esl.close()

            threading.Thread(target=close_on_stop, daemon=True, name="esl-stop").start()
        self.esl.read_loop(self.handle)
