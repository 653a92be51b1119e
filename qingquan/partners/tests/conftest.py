"""Fixtures for the open-API tests: a partner client with a key, staff, a webhook receiver."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.test import Client

from qingquan.core.actors import SYSTEM
from qingquan.staff.roles import DepartmentKind, Role
from qingquan.staff.tests.factories import department
from qingquan.tickets.tests.conftest import commit_hooks  # noqa: F401 (on-commit hooks run)


@pytest.fixture
def org(db: Any) -> dict[str, Any]:
    return {
        "hotline": department("hotline", DepartmentKind.HOTLINE),
        "repair": department("repair", DepartmentKind.REPAIR),
        "billing": department("billing", DepartmentKind.BILLING),
    }


@pytest.fixture
def inbox(org: dict[str, Any], make_user: Callable[..., Any]) -> Any:
    """The integration inbox owner: an agent account of the hotline centre."""
    return make_user(Role.AGENT, username="integration-inbox", department=org["hotline"])


ALL_SCOPES = ["bills:read", "cases:read", "cases:write", "connections", "customers:read", "open311"]


@pytest.fixture
def make_client(inbox: Any) -> Callable[..., tuple[Any, str]]:
    from qingquan.partners import services

    def make(code: str = "zlb", **kwargs: Any) -> tuple[Any, str]:
        params: dict[str, Any] = {
            "name": f"浙里办 {code}",
            "channel": "provincial",
            "scopes": ALL_SCOPES,
            "intake_owner": inbox,
        }
        params.update(kwargs)
        return services.partner_client_create(actor=SYSTEM, code=code, **params)

    return make


@pytest.fixture
def partner(make_client: Callable[..., tuple[Any, str]]) -> tuple[Any, str]:
    return make_client()


@pytest.fixture
def api(partner: tuple[Any, str]) -> Client:
    """A test client sending the partner's key."""
    return Client(HTTP_AUTHORIZATION=f"Bearer {partner[1]}")


class Receiver:
    """A real HTTP server on localhost that records webhook deliveries."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.fail_next = 0
        self.delay = 0.0  # seconds each answer takes (a slow receiver)
        self.arrived = 0  # requests received, answered or not yet
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with outer.lock:
                    outer.arrived += 1
                if outer.delay:
                    time.sleep(outer.delay)
                with outer.lock:
                    failing = outer.fail_next > 0
                    if failing:
                        outer.fail_next -= 1
                    outer.received.append(
                        {
                            "headers": {k.lower(): v for k, v in self.headers.items()},
                            "body": body,
                            "json": json.loads(body),
                            "answered": 503 if failing else 200,
                        }
                    )
                self.send_response(503 if failing else 200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def accepted(self) -> list[dict[str, Any]]:
        return [r for r in self.received if r["answered"] == 200]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()
