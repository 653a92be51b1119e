"""Demo cases: a year of a well-run hotline.

The last three weeks: a few hundred cases created and moved through the real services,
each step at its own moment in the past (the services read the time from
`qingquan.core.clock`, which the demo sets), so timelines, clocks, breaches and KPIs are
all consistent. Consultations, praise and suggestions are answered on the call; the rest
is dispatched and resolved within its limit, except a few of the kinds that run late in a
real hotline (leaks, meters, bill disputes, complaints, connections). Cases whose
resolution moment is still ahead stay open, so the queues have work and only a handful is
overdue. The eleven months before are finished cases written in bulk
(`tickets.demo_history`), so statistics and trends have a year to show.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from django.db import transaction

from qingquan.core import clock
from qingquan.staff.models import Department, Team, User
from qingquan.tickets import services
from qingquan.tickets.demo_history import LATE_KINDS, ON_THE_CALL, Cast, seed_history
from qingquan.tickets.errors import TicketError
from qingquan.tickets.models import CaseKind, Ticket

RECENT_DAYS = 21
HISTORY_DAYS = 365
# Of the cases of the late-running kinds in the recent weeks, this share misses its limit.
RECENT_LATE_SHARE = 0.1

# (kind code, weight, subject, description)
SCENARIOS: list[tuple[str, int, str, str]] = [
    (
        "consult-interruption",
        12,
        "询问今日是否停水",
        "用户询问所在小区今天为何水压低,是否有停水计划。",
    ),
    ("consult-policy", 6, "咨询一户多人口水价", "家中常住人口6人,咨询如何申请增加阶梯水量。"),
    ("consult-knowledge", 4, "自来水有白色沉淀", "烧开水后壶底有白色水垢,询问水质是否安全。"),
    ("consult-service-points", 4, "咨询营业厅地址", "询问离家最近的营业厅和办公时间。"),
    ("bill-amount", 10, "本月水费偏高", "用户反映本月水费比上月高出一倍,要求核查。"),
    ("bill-payment", 6, "如何开通微信代扣", "咨询水费自动代扣的开通方式。"),
    ("bill-invoice", 4, "需要开具增值税发票", "企业用户需要上季度水费专票。"),
    ("bill-tiered", 3, "阶梯水价怎么计算", "询问第二阶梯起算点。"),
    ("connection-residential", 4, "新房申请装表", "新购住房需要申请安装水表并通水。"),
    ("connection-business", 2, "店铺申请用水报装", "沿街店铺申请非居民用水报装。"),
    ("repair-burst", 3, "路面冒水,疑似爆管", "路口地面大量冒水,车辆无法通行。"),
    ("repair-leak", 8, "水表井漏水", "楼下水表井持续漏水,已有积水。"),
    ("repair-low-pressure", 6, "高层水压低", "家住18楼,早晚高峰几乎没有水。"),
    ("repair-no-water", 5, "家中突然停水", "没有收到停水通知,家里突然没水。"),
    ("repair-quality", 3, "自来水发黄", "早上打开水龙头水是黄色的。"),
    ("repair-meter", 4, "水表不走字", "水表指针长时间不动,怀疑损坏。"),
    ("complaint-attitude", 2, "投诉抄表员态度", "抄表员上门时态度生硬。"),
    ("complaint-billing", 3, "投诉估抄水量", "连续两个月估抄,水量明显不对。"),
    ("complaint-works", 2, "施工噪音扰民", "夜间管道施工噪音很大。"),
    ("suggestion", 2, "建议增加缴费网点", "建议在社区增加自助缴费机。"),
    ("praise", 2, "表扬抢修班组", "抢修师傅冒雨连夜修好水管,特此表扬。"),
    ("other", 2, "咨询其他事项", "询问水务集团招聘信息。"),
]
CHANNELS = [
    ("phone", 60),
    ("wechat", 15),
    ("ivr", 5),
    ("web", 6),
    ("alipay", 4),
    ("counter", 5),
    ("sms", 2),
    ("weibo", 1),
    ("provincial", 2),
]
ROADS = ["中山东路", "解放南路", "百丈路", "天童南路", "江东北路", "药行街", "环城西路", "鄞州大道"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林"


@contextmanager
def demo_time(moment: dt.datetime) -> Iterator[None]:
    # The services take "now" from qingquan.core.clock; the demo sets it per step.
    with mock.patch.object(clock, "now", return_value=moment):
        yield


def _pick(rng: random.Random, weighted: list[tuple[Any, int]]) -> Any:
    return rng.choices([w[0] for w in weighted], [w[1] for w in weighted])[0]


def _step(moment: dt.datetime, now: dt.datetime, call: Any, **kwargs: Any) -> Ticket | None:
    """Run one service at `moment` if that is not in the future; None when skipped."""
    if moment > now:
        return None
    with demo_time(moment):
        try:
            result = call(**kwargs)
        except TicketError:
            return None
    return result if isinstance(result, Ticket) else Ticket.objects.get(pk=kwargs["ticket"].pk)


@transaction.atomic
def seed_tickets(*, today: dt.date | None = None, count: int = 170, seed: int = 96390) -> int:
    """A year of demo cases before `today`: the last RECENT_DAYS days through the services
    (`count` cases), the rest written in bulk; returns how many cases were made."""
    rng = random.Random(seed)
    now = clock.now()
    today = today or clock.today()
    cast = _cast()
    if cast is None:
        return 0
    created = seed_history(
        cast=cast,
        first=today - dt.timedelta(days=HISTORY_DAYS),
        until=today - dt.timedelta(days=RECENT_DAYS - 1),
        rng=rng,
        pick=_pick,
    )
    accounts = _demo_accounts()
    for index in range(count):
        start = _recent_start(rng, today=today, now=now)
        ticket = _received(cast, rng=rng, start=start, accounts=accounts)
        _life(ticket, cast=cast, rng=rng, start=start, now=now, index=index)
        created += 1
    from qingquan.tickets.tasks import sweep

    sweep(now=now)
    return created


def _cast() -> Cast | None:
    """The people, crews, kinds and districts the demo cases use (None without staff)."""
    from qingquan.areas.models import District

    agents = list(User.objects.filter(role="agent", is_active=True))
    supervisors = list(User.objects.filter(role="supervisor", is_active=True))
    if not agents or not supervisors:
        return None
    kinds = {k.code: k for k in CaseKind.objects.select_related("parent", "policy")}
    cast = Cast(
        agents=agents,
        crews=list(Team.objects.filter(is_crew=True)),
        hotline=Department.objects.filter(kind="hotline").first(),
        kinds=kinds,
        scenarios=[(s, s[1]) for s in SCENARIOS if s[0] in kinds],
        districts=list(District.objects.all()),
        supervisors=supervisors,
    )
    return cast


def _recent_start(rng: random.Random, *, today: dt.date, now: dt.datetime) -> dt.datetime:
    day = today - dt.timedelta(days=rng.randint(0, RECENT_DAYS - 1))
    hour = _pick(rng, [(h, 1 if h < 7 or h > 21 else 6) for h in range(24)])
    start = dt.datetime.combine(
        day, dt.time(hour, rng.randint(0, 59), rng.randint(0, 59)), tzinfo=clock.SHANGHAI
    )
    return start if start <= now else now - dt.timedelta(minutes=rng.randint(5, 600))


def _received(cast: Cast, *, rng: random.Random, start: dt.datetime, accounts: list[Any]) -> Ticket:
    code, _weight, subject, description = _pick(rng, cast.scenarios)
    account = rng.choice(accounts) if accounts and rng.random() < 0.6 else None
    premise = getattr(account, "premise", None)
    with demo_time(start):
        return services.ticket_create(
            actor=rng.choice(cast.agents),
            kind=cast.kinds[code],
            channel=_pick(rng, CHANNELS),
            subject=subject,
            description=description,
            caller_name=rng.choice(SURNAMES) + rng.choice(["先生", "女士"]),
            caller_phone=f"13{rng.randint(0, 9)}{rng.randint(10_000_000, 99_999_999)}",
            address=f"{rng.choice(ROADS)}{rng.randint(1, 999)}号",
            district=getattr(premise, "district", None)
            or (rng.choice(cast.districts) if cast.districts else None),
            account=account,
            premise=premise,
        )


def _demo_accounts() -> list[Any]:
    try:
        from qingquan.customers.models import Account
    except ImportError:  # pragma: no cover - the customers app is part of the platform
        return []
    return list(Account.objects.active().select_related("customer", "premise")[:300])


def _life(
    ticket: Ticket,
    *,
    cast: Cast,
    rng: random.Random,
    start: dt.datetime,
    now: dt.datetime,
    index: int,
) -> None:
    """Move one demo case along a plausible path, stopping at the present."""
    t = start + dt.timedelta(minutes=rng.randint(2, 8))
    top = ticket.kind.top.code
    if top in ON_THE_CALL or (top == "bill" and rng.random() < 0.7):
        # Answered on the call (一次办结), never dispatched.
        _step(
            t,
            now,
            services.ticket_resolve,
            actor=ticket.owner,
            ticket=ticket,
            version=ticket.version,
            resolution="电话中已答复用户。",
        )
        return
    dispatched = _dispatch(ticket, cast=cast, rng=rng, at=t, now=now)
    if dispatched is None:
        return
    current, handler = dispatched
    t += dt.timedelta(minutes=rng.randint(5, 90))
    accepted = _step(
        t, now, services.ticket_accept, actor=handler, ticket=current, version=current.version
    )
    if accepted is None:
        return
    worked = _work(accepted, cast=cast, rng=rng, handler=handler, at=t, now=now, index=index)
    if worked is not None:
        _resolve(worked[0], rng=rng, handler=handler, at=worked[1], now=now)


def _dispatch(
    ticket: Ticket, *, cast: Cast, rng: random.Random, at: dt.datetime, now: dt.datetime
) -> tuple[Ticket, User] | None:
    """Dispatch to the kind's department (repairs to a crew); the case and its handler.
    One case in twenty comes back as wrongly dispatched and is dispatched again."""
    department = ticket.kind.responsible_department() or cast.hotline
    if department is None:
        return None
    target: dict[str, Any] = {"department": department}
    if ticket.kind.top.code == "repair" and cast.crews and ticket.kind.code != "repair-meter":
        target = {"team": rng.choice(cast.crews)}
    current = _step(
        at,
        now,
        services.ticket_dispatch,
        actor=ticket.owner,
        ticket=ticket,
        version=ticket.version,
        **target,
    )
    if current is None:
        return None
    handlers = services.handlers_of(current) or cast.supervisors
    handler = rng.choice(handlers)
    if rng.random() < 0.05:
        current = _redispatch(
            current, cast=cast, rng=rng, handler=handler, at=at, now=now, target=target
        )
    return (current, handler) if current is not None else None


def _redispatch(
    ticket: Ticket,
    *,
    cast: Cast,
    rng: random.Random,
    handler: User,
    at: dt.datetime,
    now: dt.datetime,
    target: dict[str, Any],
) -> Ticket | None:
    back = _step(
        at + dt.timedelta(minutes=30),
        now,
        services.ticket_return,
        actor=handler,
        ticket=ticket,
        version=ticket.version,
        reason="不属于本班组辖区,请重新派单。",
    )
    if back is None:
        return None
    return _step(
        at + dt.timedelta(minutes=45),
        now,
        services.ticket_dispatch,
        actor=rng.choice(cast.supervisors),
        ticket=back,
        version=back.version,
        **target,
    )


def _work(
    current: Ticket,
    *,
    cast: Cast,
    rng: random.Random,
    handler: User,
    at: dt.datetime,
    now: dt.datetime,
    index: int,
) -> tuple[Ticket, dt.datetime] | None:
    """Arrival for repairs, a contract pause for some connections, an escalation now
    and then; the case and the time reached (None when the present was reached)."""
    t = at
    if current.arrival_deadline is not None:
        t += dt.timedelta(minutes=rng.randint(20, 50))
        current = (
            _step(
                t,
                now,
                services.ticket_arrive,
                actor=handler,
                ticket=current,
                version=current.version,
            )
            or current
        )
    if current.kind.top.code == "connection" and rng.random() < 0.5:
        t += dt.timedelta(hours=rng.uniform(2, 8))
        paused = _step(
            t,
            now,
            services.ticket_pause,
            actor=handler,
            ticket=current,
            version=current.version,
            reason="contract",
            note="等待用户签订供水合同",
        )
        if paused is None:
            return None
        t += dt.timedelta(days=rng.uniform(0.5, 4))
        resumed = _step(
            t, now, services.ticket_resume, actor=handler, ticket=paused, version=paused.version
        )
        if resumed is None:
            return None
        current = resumed
    if index % 23 == 0:
        t += dt.timedelta(hours=rng.uniform(1, 4))
        current = (
            _step(
                t,
                now,
                services.ticket_escalate,
                actor=rng.choice(cast.supervisors),
                ticket=current,
                version=current.version,
                note="请加快办理并回复用户。",
            )
            or current
        )
    return current, t


def _resolve(
    current: Ticket, *, rng: random.Random, handler: User, at: dt.datetime, now: dt.datetime
) -> None:
    """Resolve well inside the limit — or, for a few cases of the late-running kinds,
    after it; a resolution moment still ahead leaves the case open."""
    deadline = current.resolution_deadline or at + dt.timedelta(days=1)
    moment = at + max(dt.timedelta(minutes=10), (deadline - at) * rng.uniform(0.1, 0.6))
    late_kind = current.kind.code in LATE_KINDS or current.kind.top.code in LATE_KINDS
    if late_kind and rng.random() < RECENT_LATE_SHARE:
        moment = deadline + dt.timedelta(hours=rng.uniform(2, 72))
    _step(
        moment,
        now,
        services.ticket_resolve,
        actor=handler,
        ticket=current,
        version=current.version,
        resolution="已处理完毕,并告知用户。",
    )
