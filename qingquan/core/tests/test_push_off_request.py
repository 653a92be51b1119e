"""A push sent by a request's commit is handed to the server's event loop and not waited
for (issue #12): under load that loop is busy with other requests, and a request thread
that waited for it answered late."""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
from typing import Any

import pytest

from qingquan.core import notifications


class _SlowLayer:
    """A channel layer whose send takes as long as the loop is busy (here: 2 s)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any], str]] = []
        self.done = threading.Event()

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        await asyncio.sleep(2)
        self.sent.append((group, message, threading.current_thread().name))
        self.done.set()


@pytest.fixture
def server_loop():
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="server-loop", daemon=True)
    thread.start()
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=5)
    loop.close()


def test_a_request_thread_does_not_wait_for_the_push(monkeypatch, server_loop):
    layer = _SlowLayer()
    monkeypatch.setattr(notifications, "get_channel_layer", lambda: layer)
    context = contextvars.copy_context()
    context.run(notifications.serving_loop.set, server_loop)

    started = time.perf_counter()
    context.run(notifications.push_to_user, user_id=7, event={"kind": "notification"})
    assert time.perf_counter() - started < 1.0  # the send itself takes 2 s

    assert layer.done.wait(timeout=10)
    group, message, thread = layer.sent[0]
    assert group == "staff.7"
    assert message == {"type": "push", "event": {"kind": "notification"}}
    assert thread == "server-loop"  # sent by the server's loop, not the request's thread


def test_outside_a_request_the_push_is_sent_before_returning(monkeypatch):
    layer = _SlowLayer()
    monkeypatch.setattr(notifications, "get_channel_layer", lambda: layer)
    notifications.push_to_user(user_id=3, event={"kind": "x"})
    assert layer.sent and layer.sent[0][0] == "staff.3"  # a worker's push is not dropped
