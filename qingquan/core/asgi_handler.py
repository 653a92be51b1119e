"""Django's ASGI handler with the request's synchronous work done in one hop, on a
bounded pool of threads.

All our views are synchronous. Django's own ASGI handler builds the middleware chain in
async mode, because `MiddlewareMixin` (and django-axes, django-htmx) can run either way:
every sync middleware method and the view are then each sent to the request's thread and
back, some fifteen thread hand-offs a request (decision 0007). It also opens a
`ThreadSensitiveContext` per request, which starts a new thread for every request, and
sends `request_started` / `request_finished` and closes the response in further hops.
Measured with py-spy on 2 cores (a crew step, 16 clients), the event loop held the GIL
longer than Django's own work: thread start-up, the hops and their context copies.

Here the body is read and the response sent by the event loop, as before; everything in
between — `request_started`, the request object, the middleware chain and the view, and
for an ordinary (not streaming) response `request_finished` — runs in one hop on a pool
of threads that live as long as the process, as under a threaded WSGI server: a few for
ordinary requests (`HTTP_THREADS`) and a pool of their own for long ones
(`HTTP_LONG_THREADS`, paths matching `HTTP_LONG_PATHS`). Each thread keeps its own
database connection across requests (the signals run in that thread, so Django's
connection checks apply to the connection the request used). Websockets (Channels) are
untouched. See docs/decisions/0007-one-hop-asgi.md and 0015.
"""

from __future__ import annotations

import asyncio
import functools
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.http import FileResponse, HttpResponseBase
from django.urls import set_script_prefix

_pools: dict[str, ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()


def request_threads(kind: str = "http") -> ThreadPoolExecutor:
    """The process's pool of request threads of `kind` ("http": ordinary requests,
    `HTTP_THREADS`; "http-long": exports, files, statistics and calls to other services,
    `HTTP_LONG_THREADS`), made on first use (after a fork, if any)."""
    with _pools_lock:
        pool = _pools.get(kind)
        if pool is None:
            size = settings.HTTP_LONG_THREADS if kind == "http-long" else settings.HTTP_THREADS
            pool = _pools[kind] = ThreadPoolExecutor(
                max_workers=max(1, int(size)), thread_name_prefix=kind
            )
        return pool


@functools.cache
def _long_paths() -> re.Pattern[str]:
    return re.compile(settings.HTTP_LONG_PATHS)


def pool_for(path: str) -> ThreadPoolExecutor:
    """Long requests get threads of their own, so that the few ordinary threads (the
    Python process is bound by one core's worth of interpreter: more threads only take
    turns) are never all held by an export or a wait on another service."""
    return request_threads("http-long" if _long_paths().search(path) else "http")


class OneHopASGIHandler(ASGIHandler):
    """Serve HTTP with the synchronous middleware chain, entered once per request on a
    long-lived request thread."""

    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        # Pushes sent by the request's commit go to this loop without waiting (imported
        # here: the module is loaded before Django is set up).
        from qingquan.core import notifications

        notifications.serving_loop.set(asyncio.get_running_loop())
        pool = pool_for(scope.get("path", ""))
        try:
            response = await sync_to_async(self.respond, thread_sensitive=False, executor=pool)(
                scope, body_file
            )
            try:
                await self.send_response(response, send)
            except asyncio.CancelledError:
                pass  # the client went away while the answer was being sent
            finally:
                if not response.closed:
                    await sync_to_async(response.close, thread_sensitive=False, executor=pool)()
        finally:
            body_file.close()

    def respond(self, scope: dict[str, Any], body_file: Any) -> HttpResponseBase:
        """Everything between reading the body and sending the answer, in this thread."""
        set_script_prefix(get_script_prefix(scope))
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, refused = self.create_request(scope, body_file)
        response: Any = refused if request is None else self.get_response(request)
        response._handler_class = self.__class__
        if isinstance(response, FileResponse):
            # The ASGI server chunks the body itself: fewer, larger reads of the file.
            response.block_size = self.chunk_size
        if not response.streaming:
            # The body is in memory: finish the request here, where its database
            # connection lives (`request_finished` closes or keeps it).
            response.close()
        return response


def one_hop_asgi_application() -> OneHopASGIHandler:
    """Set Django up and return the HTTP handler (as `get_asgi_application` does)."""
    import django

    django.setup(set_prefix=False)
    return OneHopASGIHandler()
