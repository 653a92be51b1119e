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
