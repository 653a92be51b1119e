"""Warm a serving process up before it takes traffic (issue #12, decision 0010).

A fresh process used to answer its first request in 5–7 s on the production shape:
URL patterns, the APIs' schemas and validators, translation catalogues, templates, the
database pool's first connections and the per-process caches (case kinds, calendar) were
all built on the first request, while the clients waited. `warm_up()` does that work at
start, by sending a few requests through Django itself (nothing is written), so the
first real request costs what any other does.

Then the objects the process holds after its start (modules, URL patterns, schemas,
templates, catalogues: some 190,000) are frozen out of the garbage collector's reach
(`gc.freeze()`): a full collection walked them all, 110–145 ms during which the process
answered nothing, a pause that landed on whichever request was running (the screen pop's
slowest 1 %).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
import time

logger = logging.getLogger(__name__)

# Read-only requests that touch every layer intake needs: the health check (database),
# the partner API's authentication and error path, Open311's kinds (the kinds cache)
# and a rendered page (templates, translations).
PATHS = (
    "/healthz",
    "/api/partner/v1/kinds",
    "/open311/v2/services.json",
    "/login/",
)


def warm_up() -> float:
    """Run the warm-up requests in this process; returns the seconds it took. Never
    raises: a failure is logged and the process serves anyway.

    uvicorn's multi-process mode imports the application inside its event loop, where
    Django refuses database work; the warm-up then runs in a thread of its own (and the
    loop waits for it: the process takes no traffic until it is warm)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _warm_up()
    took: list[float] = []
    thread = threading.Thread(target=lambda: took.append(_warm_up()), name="warm-up")
    thread.start()
    thread.join()
    return took[0] if took else 0.0


def _warm_up() -> float:
    started = time.perf_counter()
    try:
        from django.conf import settings
        from django.db import close_old_connections
        from django.test import Client

        from qingquan.core.calendar import load_calendar
        from qingquan.tickets import reference

        hosts = [h for h in settings.ALLOWED_HOSTS if h and "*" not in h]
        host = (hosts[0] if hosts else "localhost").lstrip(".")
        client = Client(HTTP_HOST=host, raise_request_exception=False)
        # The partner API's refusal of the key-less request is expected: not a warning
        # for the operator reading the start-up log.
        requests = logging.getLogger("django.request")
        level = requests.level
        requests.setLevel(logging.ERROR)
        try:
            for path in PATHS:
                client.get(path, secure=True)
        finally:
            requests.setLevel(level)
        reference.catalogue(check=True)
        load_calendar()
        close_old_connections()
    except Exception:  # a warm-up is a courtesy: serve cold rather than not at all
        logger.exception("warm-up failed; serving cold")
    freeze_start_up_objects()
    return time.perf_counter() - started


def freeze_start_up_objects() -> int:
    """Collect once, then move every object the process holds now to the collector's
    permanent generation, which its collections skip; returns how many were frozen.
    What the process allocates afterwards is collected as usual."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
