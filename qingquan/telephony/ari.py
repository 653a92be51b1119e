"""Asterisk driver over ARI (the Asterisk REST Interface), decision 0012.

Asterisk's dialplan hands the hotline's calls to the Stasis application
(``Stasis(qingquan,ivr,<line>)``); this module keeps one WebSocket to
``/ari/events?app=qingquan`` and sends REST commands:

* answer ``POST /channels/{id}/answer``; play ``POST /channels/{id}/play?media=sound:…``
  (prompts are synced to Asterisk's sounds folder as ``qingquan/<file>``), a key stops it
  (``DELETE /playbacks/{id}``); record ``POST /channels/{id}/record``;
* transfer to an agent: originate ``PJSIP/<ext>`` into the same application
  (``appArgs=agent,<caller channel>``); when the agent answers (their ``StasisStart``), a
  mixing bridge joins both legs (``POST /bridges``, ``addChannel``) and records them;
  a busy or unanswered agent (``ChannelDestroyed`` before it) is a failed transfer;
* hang-up ``DELETE /channels/{id}``; a finished recording is read from
  ``GET /recordings/stored/{name}/file`` and stored compressed.

Events used: ``StasisStart``, ``ChannelStateChange``, ``ChannelDtmfReceived``,
``PlaybackFinished``, ``ChannelEnteredBridge``, ``ChannelHangupRequest``,
``ChannelDestroyed``, ``StasisEnd``, ``RecordingFinished``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

from qingquan.telephony import prompts
from qingquan.telephony.ivr import Speech
from qingquan.telephony.pbx_drivers import CallEvents, Ev, QueueDriver

log = logging.getLogger(__name__)
APP = "qingquan"


class AriClient:
    """REST commands and the event WebSocket of one Asterisk."""

    def __init__(
        self, base_url: str, user: str, password: str, *, app: str = APP, events_url: str = ""
    ) -> None:
        self.base = base_url.rstrip("/")
        self.events_base = (events_url or self.base).rstrip("/")
        self.app = app
        self.http = httpx.Client(base_url=self.base, auth=(user, password), timeout=10)
        self.auth = (user, password)

    def request(self, method: str, path: str, **params: str) -> Any:
        response = self.http.request(method, path, params=params or None)
        response.raise_for_status()
        return (
            response.json()
            if response.content and "json" in response.headers.get("content-type", "")
            else response.content
        )

    def events_url(self) -> str:
        ws = self.events_base.replace("http://", "ws://").replace("https://", "wss://")
        query = urlencode({"app": self.app, "api_key": ":".join(self.auth)})
        return f"{ws}/events?{query}"


class AriDriver(QueueDriver):
    """The IVR driver for one caller channel on Asterisk."""

    def __init__(self, client: AriClient, channel: str, call: CallEvents) -> None:
        super().__init__(call)
        self.client = client
        self.channel = channel
        self.agent_channel = ""
        self.bridge = ""

    def _answer(self) -> None:
        self.client.request("POST", f"/channels/{self.channel}/answer")

    def _play(self, speech: Speech) -> None:
        audio = prompts.audio_for(key=speech.key, text=speech.text, dynamic=speech.dynamic)
        played = self.client.request(
            "POST", f"/channels/{self.channel}/play", media=f"sound:qingquan/{audio.stem}"
        )
        self.playback = str(played.get("id", "")) if isinstance(played, dict) else ""

    def _stop_playback(self) -> None:
        if self.playback:
            with contextlib.suppress(httpx.HTTPError):  # it may have ended meanwhile
                self.client.request("DELETE", f"/playbacks/{self.playback}")

    def _bridge_to(self, target: str) -> None:
        endpoint = target if "/" in target else f"PJSIP/{target}"
        made = self.client.request(
            "POST",
            "/channels",
            endpoint=endpoint,
            app=self.client.app,
            appArgs=f"agent,{self.channel}",
        )
        self.agent_channel = str(made.get("id", "")) if isinstance(made, dict) else ""

    def join(self) -> None:
        """The agent answered: one mixing bridge with both legs, recorded."""
        bridge = self.client.request("POST", "/bridges", type="mixing")
        self.bridge = str(bridge.get("id", ""))
        self.client.request(
            "POST",
            f"/bridges/{self.bridge}/addChannel",
            channel=f"{self.channel},{self.agent_channel}",
        )
        self.client.request(
            "POST",
            f"/bridges/{self.bridge}/record",
            name=f"{self.channel}-agent",
            format="wav",
            ifExists="overwrite",
        )

    def _record(self, name: str) -> str:
        self.client.request(
            "POST",
            f"/channels/{self.channel}/record",
            name=name,
            format="wav",
            ifExists="overwrite",
        )
        return f"ari:{name}"

    def _hangup(self, leg: str = "caller") -> None:
        channel = self.channel if leg == "caller" else self.agent_channel
        if channel:
            with contextlib.suppress(httpx.HTTPError):  # it may be gone already
                self.client.request("DELETE", f"/channels/{channel}")

    def download(self, name: str) -> bytes:
        data = self.client.request("GET", f"/recordings/stored/{name}/file")
        return data if isinstance(data, bytes) else b""


class AriApp:
    """Sorts one Asterisk's events into calls and runs each call on a thread."""

    def __init__(self, client: AriClient, *, on_call: Callable[[AriDriver, str, str], None]):
        self.client = client
        self.on_call = on_call
        self.drivers: dict[str, AriDriver] = {}  # by caller channel and by agent channel
        self.threads: list[threading.Thread] = []

    def handle(self, event: dict[str, Any]) -> None:
        """One event from the WebSocket."""
        kind = str(event.get("type", ""))
        channel = event.get("channel") or {}
        channel_id = str(channel.get("id", ""))
        event_id = f"{kind}:{event.get('timestamp', '')}:{channel_id}"
        if kind == "StasisStart":
            args = [str(a) for a in event.get("args", [])]
            if args[:1] == ["agent"] and len(args) > 1:
                driver = self.drivers.get(args[1])
                if driver is not None:
                    self.drivers[channel_id] = driver
                    driver.join()
                    driver.call.put(Ev("bridged", leg="agent"), event_id=event_id)
                return
            if channel_id in self.drivers:
                return  # a repeated StasisStart
            line = args[1] if len(args) > 1 else "ari"
            caller = str((channel.get("caller") or {}).get("number", ""))
            driver = AriDriver(self.client, channel_id, CallEvents())
            self.drivers[channel_id] = driver
            thread = threading.Thread(
                target=self.on_call, args=(driver, caller, line), daemon=True, name=channel_id
            )
            self.threads.append(thread)
            thread.start()
            return
        if kind == "RecordingFinished":
            recording = event.get("recording") or {}
            name = str(recording.get("name", ""))
            target = str(recording.get("target_uri", ""))
            for driver in {id(d): d for d in self.drivers.values()}.values():
                if name.startswith(driver.channel) or (driver.bridge and driver.bridge in target):
                    driver.call.put(Ev("recording", name), event_id=f"rec:{name}")
            return
        if kind == "PlaybackFinished":
            playback = event.get("playback") or {}
            channel_id = str(playback.get("target_uri", "")).removeprefix("channel:")
        driver = self.drivers.get(channel_id)
        if driver is None:
            return
        leg = "agent" if channel_id == driver.agent_channel else "caller"
        normalised = _normalise(kind, event, leg, bridged=bool(driver.bridge))
        if normalised is not None:
            driver.call.put(normalised, event_id=event_id)

    def run(self, stop: threading.Event) -> None:
        """Read the event WebSocket until `stop` (reconnecting is the supervisor's job)."""
        from websockets.sync.client import connect

        with connect(self.client.events_url()) as socket:
            while not stop.is_set():
                try:
                    message = socket.recv(timeout=0.5)
                except TimeoutError:
                    continue
                self.handle(json.loads(message))


def _normalise(kind: str, event: dict[str, Any], leg: str, *, bridged: bool) -> Ev | None:
    if kind == "ChannelStateChange" and (event.get("channel") or {}).get("state") == "Up":
        return Ev("answered", leg=leg)
    if kind == "ChannelDtmfReceived":
        return Ev("dtmf", str(event.get("digit", "")), leg=leg)
    if kind == "PlaybackFinished":
        return Ev("playback_done", str((event.get("playback") or {}).get("id", "")), leg=leg)
    if kind in ("ChannelHangupRequest", "ChannelDestroyed", "StasisEnd"):
        if leg == "agent" and not bridged:
            return Ev("transfer_failed", str(event.get("cause_txt", "")), leg=leg)
        return Ev("hangup", leg=leg)
    return None


def prompt_sync_path(audio: Path) -> str:
    """Where a prompt must be on the Asterisk host: sounds/qingquan/<file>."""
    return f"qingquan/{audio.name}"
