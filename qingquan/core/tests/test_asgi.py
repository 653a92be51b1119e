"""The ASGI entry point runs Django's middleware chain synchronously, in one hop per
request, and still serves pages, the API and its errors as Django's own handler does."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from asgiref.sync import iscoroutinefunction
from django.core.handlers.asgi import ASGIHandler

from qingquan.asgi import application, django_asgi_app
from qingquan.core.asgi_handler import OneHopASGIHandler

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_middleware_chain_is_synchronous() -> None:
    assert isinstance(django_asgi_app, OneHopASGIHandler)
    assert not iscoroutinefunction(django_asgi_app._middleware_chain)  # type: ignore[attr-defined]
    # Django's own handler would have built it in async mode (a hop per middleware).
    assert iscoroutinefunction(ASGIHandler()._middleware_chain)  # type: ignore[attr-defined]


def fetch(method: str, path: str, **kwargs: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
            return await c.request(method, path, **kwargs)

    return asyncio.run(go())


def test_pages_api_and_errors_are_served_through_asgi() -> None:
    health = fetch("GET", "/healthz")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    login = fetch("GET", "/login/", headers={"Accept-Language": "zh-hans"})
    assert login.status_code == 200 and "登录" in login.text
    assert login.headers["x-frame-options"] == "DENY"  # the middleware ran
    refused = fetch("GET", "/api/v1/tickets/")
    assert refused.status_code == 401
    assert fetch("GET", "/no-such-page/").status_code == 404


def test_requests_run_whole_on_a_bounded_pool_of_long_lived_threads(settings: Any) -> None:
    """Decision 0015: `request_started`, the view and `request_finished` of one request
    run in one thread (so Django's connection checks act on the connection the request
    used), that thread is one of the process's request threads, and twenty requests do
    not start twenty threads."""
    import threading

    from django.core import signals

    seen: list[tuple[str, int, str]] = []

    def started(**kwargs: Any) -> None:
        seen.append(("started", threading.get_ident(), threading.current_thread().name))

    def finished(**kwargs: Any) -> None:
        seen.append(("finished", threading.get_ident(), threading.current_thread().name))

    signals.request_started.connect(started)
    signals.request_finished.connect(finished)
    try:
        for _ in range(20):
            assert fetch("GET", "/healthz").status_code == 200
    finally:
        signals.request_started.disconnect(started)
        signals.request_finished.disconnect(finished)
    assert [kind for kind, _i, _n in seen] == ["started", "finished"] * 20
    for begin, end in zip(seen[::2], seen[1::2], strict=True):
        assert begin[1] == end[1]  # the same thread from start to finish
        assert begin[2].startswith("http")
    assert len({ident for _k, ident, _n in seen}) <= settings.HTTP_THREADS


def test_streamed_answers_are_still_sent_whole() -> None:
    """A file answer (streamed, closed after it is sent) arrives complete."""
    from pathlib import Path

    css = Path(__file__).resolve().parents[1] / "static" / "qingquan" / "app.css"
    answer = fetch("GET", "/static/qingquan/app.css")
    assert answer.status_code == 200
    assert answer.content == css.read_bytes()


def test_long_requests_run_on_threads_of_their_own() -> None:
    """Exports, files, the statistics and the pages that call other services take the
    long pool: an export never holds one of the few threads of ordinary requests."""
    import threading

    from django.core import signals

    from qingquan.core.asgi_handler import pool_for, request_threads

    for path in (
        "/reports/",
        "/reports/export.xlsx",
        "/connections/20261204-0001/contract.pdf",
        "/telephony/recordings/7/",
        "/telephony/simulator/",
        "/portal/pay/",
        "/payments/console/accounts/3/",
    ):
        assert pool_for(path) is request_threads("http-long"), path
    for path in ("/healthz", "/api/v1/dispatch/jobs/J-1/steps", "/console/", "/portal/"):
        assert pool_for(path) is request_threads("http"), path
    names: list[str] = []

    def started(**kwargs: Any) -> None:
        names.append(threading.current_thread().name)

    signals.request_started.connect(started)
    try:
        fetch("GET", "/reports/")
        fetch("GET", "/healthz")
    finally:
        signals.request_started.disconnect(started)
    assert names[0].startswith("http-long") and not names[1].startswith("http-long")
