"""The logged-in home page against a bare ASGI endpoint doing the same database reads."""

from __future__ import annotations

import datetime as dt

import httpx

from bench.context import BenchContext, bench_user, login_cookie
from bench.harness import Comparison
from qingquan.core.actors import system


def _agent_on_shift() -> object:
    from qingquan.core import clock
    from qingquan.staff import services
    from qingquan.staff.models import Shift

    user = bench_user("bench-agent", "基准话务员")
    shift, _ = Shift.objects.get_or_create(
        code="bench-day", defaults={"name": "基准班", "starts": dt.time(0), "ends": dt.time(0)}
    )
    services.shift_assign(
        actor=system("bench"), user=user, shift=shift, date=clock.today()
    )  # idempotent
    return user


def cases(ctx: BenchContext) -> list[Comparison]:
    base = ctx.server()
    cookies = login_cookie(_agent_on_shift())
    client = httpx.Client(base_url=base, cookies=cookies, timeout=30)
    ctx.on_close(client.close)

    def bare() -> None:
        response = client.get("/__bench/bare-home")
        assert response.status_code == 200, response.status_code

    def home() -> None:
        response = client.get("/")
        assert response.status_code == 200, response.status_code

    return [
        Comparison(
            name="home page (logged in)",
            baseline_label="bare ASGI + raw SQL, same reads",
            subject_label="Django home view",
            baseline=bare,
            subject=home,
            iterations=300,
            note="HTTP over loopback to uvicorn, one client, sequential requests",
        )
    ]
