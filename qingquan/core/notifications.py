"""Sending in-app notifications to staff, pushed live to their browsers."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from qingquan.core import clock
from qingquan.core.db import fastinsert
from qingquan.core.models import Notification

logger = logging.getLogger(__name__)


def user_group(user_id: int) -> str:
    """The channel-layer group of one staff member's open browser tabs."""
    return f"staff.{user_id}"


# The event loop of the server whose request this thread is serving (set by the ASGI
# handler around each request; contextvars follow the request into its thread), or None
# in a worker, a command or a test's own code.
serving_loop: contextvars.ContextVar[asyncio.AbstractEventLoop | None] = contextvars.ContextVar(
    "serving_loop", default=None
)


def _log_failed_push(future: concurrent.futures.Future[Any]) -> None:
    if not future.cancelled() and future.exception() is not None:
        logger.error("push failed", exc_info=future.exception())


def push_to_user(*, user_id: int, event: dict[str, Any]) -> None:
    """Send `event` to the user's websockets now (call it from on_commit hooks).

    Under the server, the send is handed to its event loop and not waited for: a request
    that committed a case answers without a round trip through the loop, which is busy
    with other requests under load (issue #12). Elsewhere it is sent before returning.
    """
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": "push", "event": event}
    loop = serving_loop.get()
    try:
        if loop is not None and loop.is_running() and not _on_thread_of(loop):
            future = asyncio.run_coroutine_threadsafe(
                layer.group_send(user_group(user_id), message), loop
            )
            future.add_done_callback(_log_failed_push)
            return
        async_to_sync(layer.group_send)(user_group(user_id), message)
    except Exception:  # a push is a courtesy; the notification row is the record
        logger.exception("push to user %s failed", user_id)


def _on_thread_of(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def notify(
    *,
    recipient: Any,
    title: str,
    body: str = "",
    link: str = "",
    level: str = Notification.Level.INFO,
    dedupe_key: str = "",
) -> Notification | None:
    """Store a notification for `recipient` and push it once the transaction commits.

    With a `dedupe_key`, a second notification with the same key to the same person is
    dropped (returns None), so sweeps and retried tasks can call this freely.
    """
    # One statement whether or not the key was used: `ON CONFLICT DO NOTHING` on the
    # (recipient, dedupe_key) constraint, so a repeat is no duplicate-key error and needs
    # no savepoint.
    note = Notification(
        recipient=recipient,
        created_at=clock.now(),
        level=level,
        title=title[:200],
        body=body,
        link=link,
        dedupe_key=dedupe_key,
    )
    if fastinsert.create(note, skip_conflict=True) is None:
        return None
    event = {
        "kind": "notification",
        "id": note.pk,
        "level": note.level,
        "title": note.title,
        "body": note.body,
        "link": note.link,
    }
    transaction.on_commit(lambda: push_to_user(user_id=note.recipient_id, event=event), robust=True)
    return note


def notification_mark_read(*, recipient: Any, ids: list[int] | None = None) -> int:
    """Mark the recipient's notifications read (all when `ids` is None); returns how many."""
    qs = Notification.objects.filter(recipient=recipient).unread()
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    return qs.update(read_at=clock.now())
