"""The real-SIP media layer: one `baresip` process per IVR line and per agent seat,
controlled over its `ctrl_tcp` module (JSON in netstrings).

* :class:`Ctrl` — the control connection: commands (``accept``, ``ausrc``, ``transfer``,
  ``hangup``) and events (``CALL_INCOMING``, ``CALL_ESTABLISHED``, ``CALL_DTMF_START``,
  ``CALL_CLOSED``, ``TRANSFER_FAILED``).
* :class:`Instance` — writes an instance's config and runs the process.
* :class:`BaresipDriver` — the IVR :class:`~qingquan.telephony.ivr.Driver` on one line.
* :func:`serve_line` / :func:`serve_seat` — the loops behind a line and a seat.
* :class:`Stack` — N lines and M seats with their ports (``bin/serve --telephony``).

Pitfalls handled (see docs/decisions/0012-ivr-sip-stack.md): ``net_interface 127.0.0.1``;
SIP ports spaced (baresip also binds port+1), the control port at SIP+2; `aufile` ends the
call at the end of a file, so every prompt is padded with silence and replaced before it
runs out; `sndfile` names files by the second, so each call's files are renamed at its
end; one call per instance.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import close_old_connections

from qingquan.telephony import prompts
from qingquan.telephony.ivr import CallerGone, Speech

log = logging.getLogger(__name__)

MODULES = ("g711.so", "aufile.so", "sndfile.so", "account.so")
APP_MODULES = ("menu.so", "ctrl_tcp.so")
PAD_SECONDS = 60.0  # silence after each prompt: the next prompt or wait replaces it first


def available() -> bool:
    """Whether baresip (with ctrl_tcp) and the prompt tools are installed."""
    return bool(
        shutil.which("baresip")
        and Path("/usr/lib/baresip/modules/ctrl_tcp.so").exists()
        and prompts.tools_available()
    )


def netstring(obj: dict[str, Any]) -> bytes:
    body = json.dumps(obj).encode()
    return str(len(body)).encode() + b":" + body + b","


class Ctrl:
    """A ctrl_tcp connection: a reader thread sorts responses (by token) from events."""

    def __init__(self, port: int, host: str = "127.0.0.1", *, connect_timeout: float = 10) -> None:
        deadline = time.monotonic() + connect_timeout
        while True:
            try:
                self.sock = socket.create_connection((host, port), timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self.sock.settimeout(None)
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self._responses: dict[str, queue.Queue[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self._serial = 0
        self.closed = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True, name=f"ctrl-{port}")
        self._reader.start()

    def _read(self) -> None:
        buffer = b""
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    break
                buffer += chunk
                while b":" in buffer:
                    size, rest = buffer.split(b":", 1)
                    length = int(size)
                    if len(rest) <= length:
                        break
                    message = json.loads(rest[:length])
                    buffer = rest[length + 1 :]
                    if message.get("response"):
                        box = self._responses.get(str(message.get("token")))
                        if box is not None:
                            box.put(message)
                    else:
                        self.events.put(message)
        except (OSError, ValueError):
            pass
        finally:
            self.closed.set()
            self.events.put({"type": "CTRL_CLOSED"})

    def command(self, command: str, params: str = "", *, timeout: float = 5) -> dict[str, Any]:
        with self._lock:
            self._serial += 1
            token = str(self._serial)
            box: queue.Queue[dict[str, Any]] = queue.Queue()
            self._responses[token] = box
            self.sock.sendall(netstring({"command": command, "params": params, "token": token}))
        try:
            return box.get(timeout=timeout)
        except queue.Empty:
            return {"ok": False, "data": "no response"}
        finally:
            self._responses.pop(token, None)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


@dataclass
class Instance:
    """One baresip process: `user` is its SIP user (``ivr`` for lines, the extension for
    seats); SIP on `sip_port` (and +1), control on `sip_port + 2`, RTP in `rtp_ports`."""

    name: str
    user: str
    sip_port: int
    rtp_ports: tuple[int, int]
    root: Path
    record: bool = True
    process: subprocess.Popen[bytes] | None = None

    @property
    def ctrl_port(self) -> int:
        return self.sip_port + 2

    @property
    def uri(self) -> str:
        return f"sip:{self.user}@127.0.0.1:{self.sip_port}"

    @property
    def home(self) -> Path:
        return self.root / self.name

    @property
    def dumps(self) -> Path:
        return self.home / "dumps"

    def write_config(self, silence: Path) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.dumps.mkdir(exist_ok=True)
        modules = [m for m in MODULES if self.record or m != "sndfile.so"]
        lines = [
            "poll_method epoll",
            f"sip_listen 127.0.0.1:{self.sip_port}",
            "net_interface 127.0.0.1",
            f"ctrl_tcp_listen 127.0.0.1:{self.ctrl_port}",
            f"audio_source aufile,{silence}",
            "audio_player aufile,/dev/null",
            "audio_alert aufile,/dev/null",
            f"rtp_ports {self.rtp_ports[0]}-{self.rtp_ports[1]}",
            "module_path /usr/lib/baresip/modules",
            *[f"module {m}" for m in modules],
            *[f"module_app {m}" for m in APP_MODULES],
            f"snd_path {self.dumps}",
        ]
        (self.home / "config").write_text("\n".join(lines) + "\n")
        (self.home / "accounts").write_text(
            f"<{self.uri}>;regint=0;answermode=manual;audio_codecs=PCMU,PCMA\n"
        )

    def start(self, silence: Path) -> None:
        self.write_config(silence)
        logfile = (self.home / "baresip.log").open("wb")
        self.process = subprocess.Popen(
            ["baresip", "-f", str(self.home)],
            stdin=subprocess.DEVNULL,
            stdout=logfile,
            stderr=subprocess.STDOUT,
        )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)

    def alive(self) -> bool:
        """Whether the process runs (an instance started elsewhere counts as alive)."""
        return self.process is None or self.process.poll() is None

    def recording_path(self, call_id: str) -> Path:
        """Where this instance's recording of `call_id` is stored (once the call ends)."""
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in call_id)[:80]
        return Path(settings.TELEPHONY_RECORDING_DIR) / f"{safe}-{self.name}.ogg"

    def take_recording(self, call_id: str) -> str:
        """Move this call's sndfile dumps to the recordings folder under a per-call name:
        one compressed stereo 8 kHz file (left: what was received, right: what was sent;
        `qingquan.telephony.recordings.store`)."""
        from qingquan.telephony import recordings

        sent = sorted(self.dumps.glob("dump-*-enc.wav"))
        received = sorted(self.dumps.glob("dump-*-dec.wav"))
        if not sent and not received:
            return ""
        parts = [p for p in (received[-1:] + sent[-1:]) if p.stat().st_size > 44]
        try:
            stored = recordings.store(parts, self.recording_path(call_id))
        finally:
            for old in sent + received:
                old.unlink(missing_ok=True)
        return str(stored) if stored else ""


class BaresipDriver:
    """The IVR driver for the call now on one line's baresip."""

    def __init__(self, ctrl: Ctrl, *, instance: Instance, call_id: str, silence: Path) -> None:
        self.ctrl = ctrl
        self.instance = instance
        self.call_id = call_id
        self.silence = silence
        self.keys: list[str] = []
        self.gone = False
        self.played: list[str] = []

    # events --------------------------------------------------------------------------
    def _pump(self, timeout: float) -> dict[str, Any] | None:
        try:
            event = self.ctrl.events.get(timeout=max(timeout, 0.0))
        except queue.Empty:
            return None
        kind = event.get("type")
        if event.get("id") not in (None, self.call_id) and kind != "CTRL_CLOSED":
            return event
        if kind == "CALL_DTMF_START" and event.get("param"):
            self.keys.append(str(event["param"]))
        elif kind in ("CALL_CLOSED", "CTRL_CLOSED"):
            self.gone = True
        return event

    def _check(self) -> None:
        if self.gone:
            raise CallerGone

    def _pause(self, seconds: float, *, until_key: bool = False) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self._check()
            if until_key and self.keys:
                return
            self._pump(min(0.1, deadline - time.monotonic()))
        self._check()

    def _source(self, path: Path) -> None:
        self.ctrl.command("ausrc", f"aufile,{path}")

    # the Driver interface ------------------------------------------------------------
    def answer(self) -> None:
        self.ctrl.command("accept")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            event = self._pump(0.2)
            self._check()
            if event and event.get("type") == "CALL_ESTABLISHED":
                return

    def play(self, speech: Speech) -> None:
        """Play the prompt (padded with silence); a key pressed meanwhile cuts it short."""
        self._check()
        audio = prompts.audio_for(key=speech.key, text=speech.text, dynamic=speech.dynamic)
        padded = audio.with_name(audio.stem + "-pad.wav")
        if not padded.exists():
            partial = audio.with_name(audio.stem + f"-pad.{threading.get_ident()}.tmp.wav")
            subprocess.run(
                ["sox", str(audio), str(partial), "pad", "0", str(PAD_SECONDS)],
                check=True,
                capture_output=True,
                timeout=60,
            )
            partial.replace(padded)
        self.played.append(speech.text)
        self._source(padded)
        self._pause(prompts.wav_info(audio)[2], until_key=True)

    def collect(self, *, max_digits: int, timeout: float, terminator: str = "#") -> str:
        digits = ""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check()
            while self.keys:
                key = self.keys.pop(0)
                if key == terminator and max_digits > 1:
                    return digits
                digits += key
                if len(digits) >= max_digits:
                    return digits
                deadline = time.monotonic() + timeout  # each key gives time for the next
            self._pump(min(0.1, max(deadline - time.monotonic(), 0)))
        return digits

    def transfer(self, target: str) -> bool:
        """REFER the caller to `target`: True once this line's leg has closed."""
        self._check()
        self._source(self.silence)
        self.ctrl.command("transfer", target)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            event = self._pump(0.2)
            if self.gone:
                return True
            if event and event.get("type") == "TRANSFER_FAILED":
                return False
        return False

    def record(self, name: str) -> str:
        # sndfile records every call of the instance; take_recording moves it here at the end.
        return str(self.instance.recording_path(name))

    def wait(self, seconds: float) -> None:
        self._source(self.silence)
        self._pause(seconds)

    def hangup(self) -> None:
        if not self.gone:
            self.ctrl.command("hangup")

    def healthy(self) -> bool:
        """The control connection is open and the process runs."""
        return not self.ctrl.closed.is_set() and self.instance.alive()


def _silence(root: Path) -> Path:
    path = root / "silence.wav"
    if not path.exists():
        root.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                "sox",
                "-n",
                "-r",
                "8000",
                "-c",
                "1",
                "-b",
                "16",
                str(path),
                "trim",
                "0",
                str(PAD_SECONDS * 10),
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
    return path


def _caller_of(event: dict[str, Any]) -> str:
    display = str(event.get("peerdisplayname") or "")
    uri = str(event.get("peeruri") or "")
    user = uri.split(":", 1)[-1].split("@", 1)[0]
    return display if display.lstrip("+").isdigit() else user


def serve_line(
    instance: Instance,
    *,
    silence: Path,
    agent_uri: Callable[[Any], str],
    stop: threading.Event,
    on_result: Callable[[Any], None] | None = None,
) -> None:
    """Answer this line's calls one at a time and run the IVR on each."""
    from qingquan.telephony.ivr import Session

    ctrl = Ctrl(instance.ctrl_port)
    try:
        while not stop.is_set():
            try:
                event = ctrl.events.get(timeout=0.2)
            except queue.Empty:
                continue
            if event.get("type") == "CTRL_CLOSED":
                return
            if event.get("type") != "CALL_INCOMING":
                continue
            call_id = str(event.get("id"))
            driver = BaresipDriver(ctrl, instance=instance, call_id=call_id, silence=silence)
            close_old_connections()
            try:
                result = Session(
                    driver=driver,
                    caller=_caller_of(event),
                    line=instance.name,
                    call_id=f"sip-{call_id}",
                    agent_uri=agent_uri,
                ).run()
            except Exception:
                log.exception("IVR failed on %s", instance.name)
                driver.hangup()
                result = None
            finally:
                close_old_connections()
            # The line's own recording (the IVR part) is kept beside the agent's.
            instance.take_recording(f"sip-{call_id}")
            if on_result is not None:
                on_result(result)
    finally:
        ctrl.close()


def serve_seat(
    instance: Instance,
    *,
    stop: threading.Event,
    answer_after: float = 1.0,
    on_event: Callable[[str, dict[str, Any]], None] | None = None,
) -> None:
    """Stand in for an agent's phone at extension `instance.user`: it rings, is answered
    after `answer_after` s (the agent picking up), and reports answer and hang-up to the
    telephony services (screen pop, contact, recording)."""
    from qingquan.telephony import ivr

    ctrl = Ctrl(instance.ctrl_port)
    extension = instance.user
    try:
        while not stop.is_set():
            try:
                event = ctrl.events.get(timeout=0.2)
            except queue.Empty:
                continue
            kind = str(event.get("type"))
            if kind == "CTRL_CLOSED":
                return
            if on_event is not None:
                on_event(kind, event)
            close_old_connections()
            try:
                if kind == "CALL_INCOMING":
                    time.sleep(answer_after)
                    ctrl.command("accept")
                elif kind == "CALL_ESTABLISHED":
                    ivr.seat_answered(extension=extension)
                elif kind == "CALL_CLOSED":
                    time.sleep(0.2)  # sndfile closes its files
                    recording = instance.take_recording(str(event.get("id")))
                    ivr.seat_ended(extension=extension, recording=recording)
            except Exception:
                log.exception("seat %s failed on %s", extension, kind)
            finally:
                close_old_connections()
    finally:
        ctrl.close()


@dataclass
class Stack:
    """IVR lines and agent seats on loopback. Instance k has SIP on base + 4k (and +1),
    control on base + 4k + 2, RTP on rtp_base + 3k … +2."""

    root: Path
    lines: int = 4
    seats: list[str] = field(default_factory=list)
    base: int = 5160
    rtp_base: int = 5240
    answer_after: float = 1.0
    instances: list[Instance] = field(default_factory=list)
    threads: list[threading.Thread] = field(default_factory=list)
    stop_event: threading.Event = field(default_factory=threading.Event)
    results: list[Any] = field(default_factory=list)
    seat_events: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        specs = [(f"line{i + 1}", "ivr", True) for i in range(self.lines)]
        specs += [(f"seat-{ext}", ext, True) for ext in self.seats]
        for k, (name, user, record) in enumerate(specs):
            self.instances.append(
                Instance(
                    name=name,
                    user=user,
                    sip_port=self.base + 4 * k,
                    rtp_ports=(self.rtp_base + 3 * k, self.rtp_base + 3 * k + 2),
                    root=self.root,
                    record=record,
                )
            )

    @property
    def line_instances(self) -> list[Instance]:
        return [i for i in self.instances if i.user == "ivr"]

    def seat_uri(self, extension: str) -> str:
        for instance in self.instances:
            if instance.user == extension and instance.name.startswith("seat-"):
                return instance.uri
        return f"sip:{extension}@127.0.0.1"

    def start(self) -> None:
        silence = _silence(self.root)
        for instance in self.instances:
            instance.start(silence)
        for instance in self.instances:
            if instance.user == "ivr":
                target: Any = serve_line
                kwargs: dict[str, Any] = {
                    "silence": silence,
                    "agent_uri": lambda user: self.seat_uri(str(user.extension)),
                    "on_result": self.results.append,
                }
            else:
                target = serve_seat
                kwargs = {
                    "answer_after": self.answer_after,
                    "on_event": lambda kind, event, ext=instance.user: self.seat_events.append(
                        (ext, kind)
                    ),
                }
            thread = threading.Thread(
                target=target,
                args=(instance,),
                kwargs={"stop": self.stop_event, **kwargs},
                daemon=True,
                name=instance.name,
            )
            thread.start()
            self.threads.append(thread)
        monitor = threading.Thread(target=self.monitor, daemon=True, name="line-health")
        monitor.start()
        self.threads.append(monitor)

    def monitor(self, every: float = 5.0) -> None:
        """Report each line's health (process alive, its control loop running) every
        `every` s, and the stack's ("*": every line down = the stack is down)."""
        from qingquan.telephony.health import STACK, line_health_report

        while not self.stop_event.is_set():
            close_old_connections()
            try:
                states = []
                threads = {t.name: t for t in self.threads}
                for instance in self.line_instances:
                    # Not a probe of the control port: ctrl_tcp keeps one connection and a
                    # new one would replace the line's own.
                    serving = threads.get(instance.name)
                    up, detail = instance.alive(), ""
                    if not up:
                        detail = "baresip process ended"
                    elif serving is not None and not serving.is_alive():
                        up, detail = False, "control connection closed"
                    states.append(up)
                    line_health_report(line=instance.name, up=up, detail=detail)
                line_health_report(
                    line=STACK, up=any(states), detail="" if any(states) else "no line runs"
                )
            except Exception:
                log.exception("line health report failed")
            finally:
                close_old_connections()
            self.stop_event.wait(every)

    def stop(self) -> None:
        self.stop_event.set()
        for thread in self.threads:
            thread.join(timeout=5)
        for instance in self.instances:
            instance.stop()


def demo_stack() -> Stack:
    """The stack `bin/serve --telephony` runs: the configured number of IVR lines and one
    seat per active agent extension (at most 16), in DATA_DIR/sip."""
    from qingquan.staff.models import User

    extensions = list(
        User.objects.filter(is_active=True, extension__gt="")
        .order_by("extension")
        .values_list("extension", flat=True)[:16]
    )
    return Stack(
        root=Path(settings.DATA_DIR) / "sip",
        lines=int(settings.TELEPHONY_IVR_LINES),
        seats=extensions,
        answer_after=3.0,
    )
