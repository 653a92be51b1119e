"""A fake Asterisk ARI: replays a recorded event stream over the WebSocket, moving on as
the driver sends the REST commands the recording expects (any other command is answered
500 and noted in `mismatches`). A command step may give the HTTP `status` Asterisk
answered with (404 ``{"message": "Channel not found"}`` for a channel already gone)."""

from __future__ import annotations

import io
import json
import threading
import wave
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.sync.server import ServerConnection, serve


def silence_wav(seconds: float = 1.0) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\0\0" * int(8000 * seconds))
    return out.getvalue()


class FakeAri:
    def __init__(self, stream: Path, port: int) -> None:
        self.steps: list[dict[str, Any]] = json.loads(stream.read_text())["steps"]
        self.port = port
        self.position = 0
        self.commands: list[str] = []
        self.mismatches: list[str] = []
        self.socket: ServerConnection | None = None
        self.lock = threading.Lock()
        # REST on `port`, the event WebSocket on `port + 1` (one port in a real Asterisk).
        self.server = serve(self._ws, "127.0.0.1", port + 1, compression=None)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                status, kind, body = fake.rest(self.command, self.path)
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_DELETE = _any

            def log_message(self, *args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.threads = [
            threading.Thread(target=self.server.serve_forever, daemon=True),
            threading.Thread(target=self.http.serve_forever, daemon=True),
        ]

    def __enter__(self) -> FakeAri:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.http.shutdown()
        self.http.server_close()

    @property
    def done(self) -> bool:
        return self.position >= len(self.steps)

    def _flush(self) -> None:
        """Send the events up to the next expected command."""
        while not self.done and "event" in self.steps[self.position]:
            if self.socket is None:
                return
            self.socket.send(json.dumps(self.steps[self.position]["event"]))
            self.position += 1

    def _ws(self, connection: ServerConnection) -> None:
        with self.lock:
            self.socket = connection
            self._flush()
        try:
            for _message in connection:
                pass
        except Exception:
            pass

    def rest(self, method: str, path: str) -> tuple[int, str, bytes]:
        parts = urlsplit(path)
        command = f"{method} {parts.path.removeprefix('/ari')}"
        params = {k: v[0] for k, v in parse_qs(parts.query).items()}
        with self.lock:
            self.commands.append(command)
            step = self.steps[self.position] if not self.done else {}
            if step.get("expect") != command or any(
                params.get(k) != v for k, v in step.get("params", {}).items()
            ):
                self.mismatches.append(f"{command} {params} (expected {step.get('expect')})")
                return 500, "application/json", b"{}"
            self.position += 1
            reply = step.get("reply")
            if reply == "WAV":
                body, kind = silence_wav(), "audio/wav"
            elif reply is None:
                body, kind = b"", "application/json"
            else:
                body, kind = json.dumps(reply).encode(), "application/json"
            self._flush()
        if "status" in step:  # Asterisk's refusal, e.g. 404 for a channel already gone
            return int(step["status"]), kind, body
        return (HTTPStatus.OK if body else HTTPStatus.NO_CONTENT).value, kind, body
