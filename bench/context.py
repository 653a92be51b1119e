"""What a benchmark module gets: the scale, the database, and a live server to talk to."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from qingquan.core.actors import system

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class BenchContext:
    """Shared by the modules of one run on one database."""

    database: str
    scale: float
    # The peer benchmark's load: seconds per system per round, rounds, connections.
    duration: float = 30.0
    rounds: int = 3
    connections: int = 16
    _server: subprocess.Popen[bytes] | None = None
    _base_url: str = ""
    _cleanups: list[Any] = field(default_factory=list)

    def server(self) -> str:
        """Start (once) uvicorn serving bench.asgi on this database; returns its base URL."""
        if self._server is None:
            port = _free_port()
            env = dict(os.environ)
            self._server = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "bench.asgi:application",
                    "--port",
                    str(port),
                    "--log-level",
                    "warning",
                    "--no-access-log",
                ],
                cwd=ROOT,
                env=env,
            )
            self._base_url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    httpx.get(f"{self._base_url}/healthz", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.2)
            else:
                raise RuntimeError("bench server did not start")
        return self._base_url

    def close(self) -> None:
        for cleanup in self._cleanups:
            cleanup()
        if self._server is not None:
            self._server.terminate()
            self._server.wait(timeout=10)
            self._server = None

    def on_close(self, fn: Any) -> None:
        self._cleanups.append(fn)


def login_cookie(user: Any) -> dict[str, str]:
    """A session cookie for `user`, made the way Django's login does."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "qingquan.staff.backends.StaffBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return {settings.SESSION_COOKIE_NAME: session.session_key or ""}


def bench_user(username: str, full_name: str, **extra: Any) -> Any:
    """The bench's own staff member `username` (an agent unless `role` is given), created
    once through the platform's service."""
    from qingquan.staff import services
    from qingquan.staff.models import User
    from qingquan.staff.roles import Role

    user = User.objects.filter(username=username).first()
    if user is None:
        user = services.staff_create(
            actor=system("bench"),
            username=username,
            full_name=full_name,
            role=extra.pop("role", Role.AGENT),
            password="bench-password-96390",
            validate=False,
            **extra,
        )
    return user
