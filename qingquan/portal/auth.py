"""The portal's own login: a cookie (path /portal/) holding a random session key. It
never reads Django's staff session, and staff pages never see this cookie."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import quote

from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect

from qingquan.portal import rules, services

F = TypeVar("F", bound=Callable[..., HttpResponseBase])


def resident_of(request: HttpRequest) -> Any:
    if not hasattr(request, "_portal_resident"):
        key = request.COOKIES.get(rules.COOKIE, "")
        request._portal_resident = services.session_resident(key)  # type: ignore[attr-defined]
    return request._portal_resident  # type: ignore[attr-defined]


def resident_required(view: F) -> F:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        resident = resident_of(request)
        if resident is None:
            return redirect(f"/portal/login/?next={quote(request.get_full_path())}")
        request.resident = resident  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def set_cookie(response: HttpResponse, key: str, *, secure: bool) -> None:
    response.set_cookie(
        rules.COOKIE,
        key,
        max_age=int(rules.SESSION_AGE.total_seconds()),
        path=rules.COOKIE_PATH,
        secure=secure,
        httponly=True,
        samesite="Lax",
    )


def context(request: HttpRequest) -> dict[str, Any]:
    """Template context processor: the resident (portal pages only) and elder mode."""
    if not request.path.startswith("/portal/") and not request.path.startswith("/payments/"):
        return {}
    resident = resident_of(request)
    elder = bool(resident.elder_mode) if resident else request.COOKIES.get("qq_elder") == "1"
    return {"resident": resident, "elder_mode": elder}
