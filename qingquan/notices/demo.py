"""Demo data: a published unplanned notice from a burst's isolation plan (the first pipe
whose plan leaves between 20 and 400 accounts without water), and a planned one for next
week on the same street, awaiting approval."""

from __future__ import annotations

import datetime as dt

from qingquan.core import clock
from qingquan.core.actors import system
from qingquan.notices import services
from qingquan.notices.models import Notice

MIN_ACCOUNTS, MAX_ACCOUNTS = 20, 400


def _burst_pipe() -> str | None:
    from qingquan.core.actors import SYSTEM
    from qingquan.customers.models import Account
    from qingquan.network import graph as network_graph
    from qingquan.network.selectors import isolation_plan

    g = network_graph.current()
    if g.empty:
        return None
    best: tuple[int, str] | None = None  # the most accounts below the range, if none in it
    for eid in list(g.pipe_eid)[:: max(len(g.pipe_eid) // 300, 1)]:
        plan = isolation_plan(user=SYSTEM, pipe=str(eid), counts=False)
        if plan.whole_zone:
            continue
        n = Account.objects.filter(
            premise__network_connection__node__segment__in=plan.isolation.affected_segments
        ).count()
        if MIN_ACCOUNTS <= n <= MAX_ACCOUNTS:
            return str(eid)
        if 0 < n < MIN_ACCOUNTS and (best is None or n > best[0]):
            best = (n, str(eid))
    return best[1] if best else None


def seed_notices() -> Notice | None:
    """Publish the demo's burst notice (nothing when notices exist or no pipe fits)."""
    if Notice.objects.exists():
        return None
    pipe = _burst_pipe()
    if pipe is None:
        return None
    actor = system("demo")
    now = clock.now()
    notice = services.notice_create(
        actor=actor,
        kind="unplanned",
        title="供水管道爆裂抢修",
        area_source="plan",
        pipe=pipe,
        starts_at=now - dt.timedelta(minutes=40),
        expected_end_at=now + dt.timedelta(hours=5),
        reason=f"{pipe} 号管道爆裂，正在关阀抢修",
        alternative_supply="小区南门、社区服务中心门口设临时送水车",
        contact="96390",
    )
    services.notice_submit(actor=actor, notice=notice)
    services.notice_approve(actor=actor, notice=notice)
    planned = services.notice_create(
        actor=actor,
        kind="planned",
        title="管网改造计划停水",
        area_source="plan",
        pipe=pipe,
        starts_at=now + dt.timedelta(days=6),
        expected_end_at=now + dt.timedelta(days=6, hours=8),
        reason="老旧管网改造，更换阀门",
        contact="96390",
    )
    services.notice_submit(actor=actor, notice=planned)
    notice.refresh_from_db()
    return notice
