"""Demo cases: a few hundred realistic cases over the last four weeks, in every state.

Every case is created and moved through the real services, each step at its own moment
in the past (the services read the time from `qingquan.core.clock`, which the demo sets),
so timelines, clocks, breaches and KPIs are all consistent.
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
from qingquan.staff.access import CAPABILITIES
from qingquan.staff.models import Department, Team, User
from qingquan.tickets import services
from qingquan.tickets.errors import TicketError
from qingquan.tickets.models import CaseKind, Ticket

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
def _at(moment: dt.datetime) -> Iterator[None]:
    # The services take "now" from qingquan.core.clock; the demo sets it per step.
    with mock.patch.object(clock, "now", return_value=moment):
        yield


def _pick(rng: random.Random, weighted: list[tuple[Any, int]]) -> Any:
    return rng.choices([w[0] for w in weighted], [w[1] for w in weighted])[0]


def _step(moment: dt.datetime, now: dt.datetime, call: Any, **kwargs: Any) -> Ticket | None:
    """Run one service at `moment` if that is not in the future; None when skipped."""
    if moment > now:
        return None
    with _at(moment):
        try:
            result = call(**kwargs)
        except TicketError:
            return None
    return result if isinstance(result, Ticket) else Ticket.objects.get(pk=kwargs["ticket"].pk)


@transaction.atomic
def seed_tickets(*, today: dt.date | None = None, count: int = 240, seed: int = 96390) -> int:
    """Create `count` demo cases over the four weeks before `today`; returns how many."""
    rng = random.Random(seed)
    now = clock.now()
    today = today or clock.today()
    agents = list(User.objects.filter(role="agent", is_active=True))
    supervisors = list(User.objects.filter(role="supervisor", is_active=True))
    if not agents or not supervisors:
        return 0
    workers = list(User.objects.filter(role__in=CAPABILITIES["tickets.work"], is_active=True))
    crews = list(Team.objects.filter(is_crew=True))
    kinds = {k.code: k for k in CaseKind.objects.select_related("parent", "policy")}
    scenarios = [(s, s[1]) for s in SCENARIOS if s[0] in kinds]
    accounts = _demo_accounts()
    from qingquan.areas.models import District

    districts = list(District.objects.all())
    created = 0
    for index in range(count):
        code, _weight, subject, description = _pick(rng, scenarios)
        kind = kinds[code]
        day = today - dt.timedelta(days=rng.randint(0, 27))
        hour = _pick(rng, [(h, 1 if h < 7 or h > 21 else 6) for h in range(24)])
        start = dt.datetime.combine(
            day, dt.time(hour, rng.randint(0, 59), rng.randint(0, 59)), tzinfo=clock.SHANGHAI
        )
        if start > now:
            start = now - dt.timedelta(minutes=rng.randint(5, 600))
        agent = rng.choice(agents)
        account = rng.choice(accounts) if accounts and rng.random() < 0.6 else None
        premise = getattr(account, "premise", None)
        with _at(start):
            ticket = services.ticket_create(
                actor=agent,
                kind=kind,
                channel=_pick(rng, CHANNELS),
                subject=subject,
                description=description,
                caller_name=rng.choice(SURNAMES) + rng.choice(["先生", "女士"]),
                caller_phone=f"13{rng.randint(0, 9)}{rng.randint(10_000_000, 99_999_999)}",
                address=f"{rng.choice(ROADS)}{rng.randint(1, 999)}号",
                district=getattr(premise, "district", None)
                or (rng.choice(districts) if districts else None),
                account=account,
                premise=premise,
            )
        created += 1
        _life(
            ticket,
            rng=rng,
            start=start,
            now=now,
            agent=agent,
            workers=workers,
            crews=crews,
            supervisors=supervisors,
            index=index,
        )
    from qingquan.tickets.tasks import sweep

    sweep(now=now)
    return created


def _demo_accounts() -> list[Any]:
    try:
        from qingquan.customers.models import Account
    except ImportError:  # pragma: no cover - the customers app is part of the platform
        return []
    return list(Account.objects.active().select_related("customer", "premise")[:300])


def _life(
    ticket: Ticket,
    *,
    rng: random.Random,
    start: dt.datetime,
    now: dt.datetime,
    agent: User,
    workers: list[User],
    crews: list[Team],
    supervisors: list[User],
    index: int,
) -> None:
    """Move one demo case along a plausible path, stopping at the present."""
    t = start + dt.timedelta(minutes=rng.randint(2, 8))
    top = ticket.kind.top.code
    # Simple questions are answered on the call (一次办结).
    if top in ("consultation", "bill", "praise", "other") and rng.random() < 0.6:
        done = _step(
            t,
            now,
            services.ticket_resolve,
            actor=agent,
            ticket=ticket,
            version=ticket.version,
            resolution="电话中已答复用户。",
        )
        if done is not None:
            _callback(
                done, rng=rng, at=t + dt.timedelta(hours=rng.randint(2, 30)), now=now, agent=agent
            )
        return
    department = ticket.kind.responsible_department()
    if department is None:
        department = Department.objects.filter(kind="hotline").first()
    if department is None:
        return
    target: dict[str, Any] = {"department": department}
    if top == "repair" and crews and ticket.kind.code != "repair-meter":
        target = {"team": rng.choice(crews)}
    current = _step(
        t,
        now,
        services.ticket_dispatch,
        actor=agent,
        ticket=ticket,
        version=ticket.version,
        **target,
    )
    if current is None:
        return
    handlers = [
        w
        for w in workers
        if w.team_id == current.team_id
        or (not current.team_id and w.department_id == current.department_id)
    ]
    if not handlers:
        return
    handler = rng.choice(handlers)
    if rng.random() < 0.05:  # wrongly dispatched: the department returns it
        t += dt.timedelta(hours=rng.uniform(0.5, 6))
        _step(
            t,
            now,
            services.ticket_return,
            actor=handler,
            ticket=current,
            version=current.version,
            reason="不属于本部门职责,请重新派单。",
        )
        return
    t += dt.timedelta(minutes=rng.randint(5, 90))
    current = _step(
        t, now, services.ticket_accept, actor=handler, ticket=current, version=current.version
    )
    if current is None:
        return
    if current.arrival_deadline is not None:
        t += dt.timedelta(minutes=rng.randint(20, 150))
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
    if top == "connection" and rng.random() < 0.5:
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
            return
        t += dt.timedelta(days=rng.uniform(0.5, 4))
        current = _step(
            t, now, services.ticket_resume, actor=handler, ticket=paused, version=paused.version
        )
        if current is None:
            return
    if index % 17 == 0 and supervisors:
        t += dt.timedelta(hours=rng.uniform(1, 10))
        current = (
            _step(
                t,
                now,
                services.ticket_escalate,
                actor=rng.choice(supervisors),
                ticket=current,
                version=current.version,
                note="请加快办理并回复用户。",
            )
            or current
        )
    budget_hours = current.budget_seconds / 3600
    # Most cases finish well inside their limit; a few run late (the KPIs show it).
    late = rng.random() < 0.04
    elapsed = dt.timedelta(
        hours=budget_hours * (rng.uniform(1.1, 1.6) if late else rng.uniform(0.1, 0.7))
    )
    if current.sla_clock_kind != "calendar":
        elapsed = elapsed * (1.4 if late else 0.9)
    t = max(t, start + elapsed)
    done = _step(
        t,
        now,
        services.ticket_resolve,
        actor=handler,
        ticket=current,
        version=current.version,
        resolution="已处理完毕,并告知用户。",
    )
    if done is not None:
        _callback(
            done, rng=rng, at=t + dt.timedelta(hours=rng.randint(1, 48)), now=now, agent=agent
        )


def _callback(
    ticket: Ticket, *, rng: random.Random, at: dt.datetime, now: dt.datetime, agent: User
) -> None:
    if rng.random() < 0.3:
        return  # not called back yet
    outcome = _pick(
        rng, [("satisfied", 90), ("fairly_satisfied", 6), ("dissatisfied", 1), ("unreachable", 3)]
    )
    _step(
        at,
        now,
        services.ticket_callback_record,
        actor=agent,
        ticket=ticket,
        version=ticket.version,
        outcome=outcome,
    )
