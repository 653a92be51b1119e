"""Django's ASGI handler with the request's synchronous work done in one hop.

All our views are synchronous. Django's own ASGI handler builds the middleware chain in
async mode, because `MiddlewareMixin` (and django-axes, django-htmx) can run either way:
every sync middleware method and the view are then each sent to the request's thread and
back, some fifteen thread hand-offs a request. Measured on 2 cores that cost about 2.7 ms
of CPU per request (a bare `/healthz` took 3.1 ms of server CPU against 0.4 ms for a bare
ASGI endpoint doing the same query). Here the chain is loaded in sync mode and the whole
of it, middleware and view, runs in the request's thread in one hop, as under WSGI; the
body is still read and the response still sent by the event loop, and websockets
(Channels) are untouched. See docs/decisions/0007-one-hop-asgi.md.
"""

from __future__ import annotations

import asyncio
from typing import Any

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpRequest, HttpResponseBase


class OneHopASGIHandler(ASGIHandler):
    """Serve HTTP with the synchronous middleware chain, entered once per request."""

    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        # Pushes sent by the request's commit go to this loop without waiting (imported
        # here: the module is loaded before Django is set up).
        from qingquan.core import notifications

        notifications.serving_loop.set(asyncio.get_running_loop())
        # thread_sensitive: the request's own thread (ASGIHandler opens a
        # ThreadSensitiveContext per request), as Django's sync views get anyway.
        response: Any = await sync_to_async(self.get_response, thread_sensitive=True)(request)
        return response


def one_hop_asgi_application() -> OneHopASGIHandler:
    """Set Django up and return the HTTP handler (as `get_asgi_application` does)."""
    import django

    django.setup(set_prefix=False)
    return OneHopASGIHandler()
