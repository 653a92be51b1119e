"""A fake FreeSWITCH event socket: replays a recorded event stream (``text/event-plain``,
values URL-encoded as FreeSWITCH sends them), moving on as the driver sends the commands
the recording expects. Any other command is answered ``-ERR`` and noted in `mismatches`.

A step is ``{"event": {header: value}}``, ``{"raw": "<an event-plain body exactly as
captured on the wire>"}`` (sent byte for byte, framed with its Content-Length) or
``{"expect": "<first line>", "match": {header: value or "~regex"}, "capture": {name:
"Header" or "Header~regex"}, "reply": "+OK"}``. Ids the driver chooses (a playback's
Event-UUID, the agent leg's origination_uuid) are captured and put into later steps
wherever ``${name}`` stands. Like FreeSWITCH, only the events named in the ``event plain
…`` subscription are sent, so a captured session can be replayed whole (heartbeats,
CHANNEL_STATE, CODEC…)."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
from pathlib import Path
from typing import Any
from urllib.parse import quote


class FakeEsl:
    def __init__(
        self,
        stream: Path,
        port: int = 0,
        *,
        password: str = "ClueCon",
        hang_up_when_done: bool = False,
    ) -> None:
        self.steps: list[dict[str, Any]] = json.loads(stream.read_text())["steps"]
        self.password = password
        self.hang_up_when_done = hang_up_when_done
        self.position = 0
        self.values: dict[str, str] = {}
        self.commands: list[str] = []
        self.mismatches: list[str] = []
        self.subscribed: set[str] = set()
        self.skipped: list[str] = []  # events not subscribed to, as FreeSWITCH skips them
        self.listener = socket.create_server(("127.0.0.1", port))
        self.port = self.listener.getsockname()[1]  # port 0: a free one
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.conn: socket.socket | None = None

    def __enter__(self) -> FakeEsl:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.listener.close()
        if self.conn is not None:
            with contextlib.suppress(OSError):
                self.conn.shutdown(socket.SHUT_RDWR)
            self.conn.close()

    @property
    def done(self) -> bool:
        return self.position >= len(self.steps)

    # -- the wire -------------------------------------------------------------------------
    def _send(self, text: str) -> None:
        assert self.conn is not None
        self.conn.sendall(text.encode())

    def _reply(self, command: str, text: str) -> None:
        if command.startswith("api "):
            body = text + "\n"
            self._send(
                f"Content-Type: api/response\nContent-Length: {len(body.encode())}\n\n{body}"
            )
        else:
            self._send(f"Content-Type: command/reply\nReply-Text: {text}\n\n")

    def _subst(self, text: str) -> str:
        return re.sub(r"\$\{(\w+)\}", lambda m: self.values.get(m.group(1), m.group(0)), text)

    def _event(self, step: dict[str, Any]) -> None:
        if "raw" in step:
            body = self._subst(step["raw"])
            name = re.search(r"^Event-Name: (\S+)", body, re.MULTILINE)
            kind = name.group(1) if name else ""
        else:
            headers = step["event"]
            body = "".join(f"{k}: {quote(self._subst(v), safe='')}\n" for k, v in headers.items())
            body += "\n"
            kind = headers.get("Event-Name", "")
        if kind not in self.subscribed and "ALL" not in self.subscribed:
            self.skipped.append(kind)
            return
        self._send(
            f"Content-Length: {len(body.encode())}\nContent-Type: text/event-plain\n\n{body}"
        )

    def _flush(self) -> None:
        while not self.done and (
            "event" in self.steps[self.position] or "raw" in self.steps[self.position]
        ):
            self._event(self.steps[self.position])
            self.position += 1
        if self.done and self.hang_up_when_done:
            self._send("Content-Type: text/disconnect-notice\nContent-Length: 0\n\n")
            assert self.conn is not None
            self.conn.shutdown(socket.SHUT_RDWR)

    # -- the session ----------------------------------------------------------------------
    def _serve(self) -> None:
        try:
            self.conn, _addr = self.listener.accept()
        except OSError:
            return
        reader = self.conn.makefile("rb")
        self._send("Content-Type: auth/request\n\n")
        try:
            while True:
                command = self._read_command(reader)
                if command is None:
                    return
                self._answer(command)
        except OSError:
            return

    @staticmethod
    def _read_command(reader: Any) -> str | None:
        lines: list[str] = []
        while True:
            line = reader.readline()
            if not line:
                return None
            text = line.decode().rstrip("\r\n")
            if not text:
                if lines:
                    return "\n".join(lines)
                continue
            lines.append(text)

    def _answer(self, command: str) -> None:
        first, *rest = command.split("\n")
        self.commands.append(first)
        if first.startswith("auth "):
            ok = first == f"auth {self.password}"
            self._reply(first, "+OK accepted" if ok else "-ERR invalid")
            return
        if first.startswith("event plain "):
            self.subscribed = {name.upper() for name in first.split()[2:]}
            self._reply(first, "+OK event listener enabled plain")
            self._flush()
            return
        headers = dict(line.split(": ", 1) for line in rest if ": " in line)
        step = self.steps[self.position] if not self.done else {}
        if not self._matches(step, first, headers):
            self.mismatches.append(f"{command!r} (expected {step.get('expect')})")
            self._reply(first, "-ERR unexpected command")
            return
        for name, spec in step.get("capture", {}).items():
            header, _sep, pattern = spec.partition("~")
            value = headers.get(header, "")
            found = re.search(pattern, value) if pattern else None
            self.values[name] = found.group(1) if found else value
        self.position += 1
        self._reply(first, self._subst(step.get("reply", "+OK")))
        self._flush()

    def _matches(self, step: dict[str, Any], first: str, headers: dict[str, str]) -> bool:
        if "expect" not in step or self._subst(step["expect"]) != first:
            return False
        for header, wanted in step.get("match", {}).items():
            value = headers.get(header, "")
            if wanted.startswith("~"):
                if not re.search(self._subst(wanted[1:]), value):
                    return False
            elif self._subst(wanted) != value:
                return False
        return True
