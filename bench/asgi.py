"""The platform's ASGI app plus bare endpoints that benchmarks use as baselines.

Only `bin/bench` serves this module; production serves qingquan.asgi.
"""

from __future__ import annotations

import datetime as dt
import html
from http.cookies import SimpleCookie
from typing import Any

from asgiref.sync import sync_to_async

from qingquan.asgi import application as qingquan_app

BARE: dict[str, Any] = {}


def bare(path: str) -> Any:
    """Register a bare ASGI handler: raw SQL, no middleware, no ORM, no templates."""

    def decorator(fn: Any) -> Any:
        BARE[path] = fn
        return fn

    return decorator


def _home_rows(session_key: str) -> tuple[int, str] | None:
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import connection

    now = dt.datetime.now(dt.UTC)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT session_data FROM django_session WHERE session_key = %s AND expire_date > %s",
            [session_key, now],
        )
        row = cursor.fetchone()
        if row is None:
            return None
        user_id = SessionStore().decode(row[0]).get("_auth_user_id")
        cursor.execute(
            "SELECT u.full_name, u.role, d.name, t.name FROM staff_user u "
            "LEFT JOIN staff_department d ON d.id = u.department_id "
            "LEFT JOIN staff_team t ON t.id = u.team_id WHERE u.id = %s AND u.is_active",
            [user_id],
        )
        user = cursor.fetchone()
        if user is None:
            return None
        today = dt.date.today()
        cursor.execute(
            "SELECT s.name, a.date, s.starts, s.ends FROM staff_shiftassignment a "
            "JOIN staff_shift s ON s.id = a.shift_id WHERE a.user_id = %s "
            "AND a.date BETWEEN %s AND %s ORDER BY a.date, s.starts",
            [user_id, today - dt.timedelta(days=1), today + dt.timedelta(days=7)],
        )
        shifts = cursor.fetchall()
        cursor.execute(
            "SELECT COUNT(*) FROM core_notification WHERE recipient_id = %s AND read_at IS NULL",
            [user_id],
        )
        unread = cursor.fetchone()[0]
    body = (
        f"<h1>{html.escape(user[0])}</h1><p>{html.escape(user[1])} {html.escape(user[2] or '')}"
        f" {html.escape(user[3] or '')}</p><p>{len(shifts)} shifts, {unread} unread</p>"
    )
    return 200, body


@bare("/__bench/bare-home")
async def bare_home(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """What the home page reads (session, user, shifts, unread count), with raw SQL."""
    cookies = SimpleCookie()
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            cookies.load(value.decode())
    key = cookies["sessionid"].value if "sessionid" in cookies else ""
    result = await sync_to_async(_home_rows)(key)
    status, body = result if result is not None else (403, "forbidden")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"text/html; charset=utf-8")],
        }
    )
    await send({"type": "http.response.body", "body": body.encode()})


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    handler = BARE.get(scope.get("path", "")) if scope["type"] == "http" else None
    if handler is not None:
        await handler(scope, receive, send)
    else:
        await qingquan_app(scope, receive, send)


def load_bare_modules() -> None:
    """Import every bench module so their bare endpoints register."""
    import importlib
    import pkgutil

    import bench

    for info in pkgutil.iter_modules(bench.__path__):
        if info.name.startswith("bench_"):
            importlib.import_module(f"bench.{info.name}")


load_bare_modules()
