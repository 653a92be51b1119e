"""Demo data for callbacks and statistics: commitments, callbacks of the demo cases,
customer managers' business customers, a report subscription."""

from __future__ import annotations

import datetime as dt
import random

from qingquan.core import clock
from qingquan.reports.models import ReportSubscription, ServiceCommitment
from qingquan.surveys import services as surveys
from qingquan.surveys.models import CallbackTask, CustomerManagerAssignment
from qingquan.tickets.errors import TicketError
from qingquan.tickets.models import CaseKind

COMMITMENTS = [
    # title, text, time limit, kind code, measure, target
    (
        "业务咨询当场或一个工作日内答复",
        "用水政策、停水信息、营业网点等咨询，能当场答复的当场答复，需查询的一个工作日内答复。",
        "1个工作日",
        "consultation",
        "on_time",
        98,
    ),
    (
        "水费查询一个工作日内答复",
        "水费金额、缴费方式、发票、阶梯水价的查询一个工作日内答复。",
        "1个工作日",
        "bill",
        "on_time",
        98,
    ),
    (
        "报修及时到场、限时修复",
        "爆管1小时内到场、24小时内修复；漏水4小时内到场；一般报修2小时内响应。",
        "1小时到场",
        "repair",
        "on_time",
        98,
    ),
    (
        "投诉三个工作日内办结",
        "用户投诉三个工作日内调查处理并答复。",
        "3个工作日",
        "complaint",
        "on_time",
        98,
    ),
    ("工单全部办结", "受理的每一件工单都办理到底。", "", None, "closure", 100),
    (
        "回访满意率不低于99%",
        "办结后回访用户，满意率不低于99%。",
        "2个工作日内回访",
        None,
        "satisfaction",
        99,
    ),
]


def seed_reports(*, seed: int = 96390) -> dict[str, int]:
    """Create the demo commitments, record callbacks on most resolved demo cases, name
    customer managers for business customers; returns what was made."""
    rng = random.Random(seed)
    kinds = {k.code: k for k in CaseKind.objects.filter(parent__isnull=True)}
    commitments = 0
    for position, (title, text, limit, code, measure, target) in enumerate(COMMITMENTS):
        _row, made = ServiceCommitment.objects.get_or_create(
            title=title,
            defaults={
                "position": position,
                "text": text,
                "time_limit": limit,
                "kind": kinds.get(code) if code else None,
                "measure": measure,
                "target_percent": target,
            },
        )
        commitments += int(made)
    # The resolutions of the demo cases commit with the demo: make their tasks now.
    surveys.schedule_missed_resolutions(since=clock.now() - dt.timedelta(days=60))
    recorded = 0
    for task in CallbackTask.objects.filter(status="open").select_related("ticket", "assignee"):
        roll = rng.random()
        if roll < 0.2:
            continue  # left to do: the agents' "my callbacks" page has work
        outcome = "satisfied"
        if roll > 0.9:
            outcome = "fairly_satisfied"
        if roll > 0.97:
            outcome = "unreachable"
        try:
            for _attempt in range(3 if outcome == "unreachable" else 1):
                task.refresh_from_db()
                if not task.is_open:
                    break
                surveys.callback_attempt_record(
                    actor=task.assignee, task=task, version=task.version, outcome=outcome
                )
        except TicketError:
            continue
        recorded += 1
    managers = _seed_managers()
    ReportSubscription.objects.get_or_create(email="kefu@example.cn", frequency="monthly")
    return {"commitments": commitments, "callbacks": recorded, "manager_calls": managers}


def _seed_managers() -> int:
    from qingquan.customers.models import Customer, CustomerKind
    from qingquan.staff.models import User

    managers = list(User.objects.filter(role="customer_manager", is_active=True).order_by("pk"))
    if not managers:
        return 0
    companies = Customer.objects.filter(kind=CustomerKind.ORGANISATION).order_by("pk")[:12]
    for index, company in enumerate(companies):
        if not CustomerManagerAssignment.objects.filter(customer=company, is_active=True).exists():
            CustomerManagerAssignment.objects.create(
                manager=managers[index % len(managers)],
                customer=company,
                since=clock.today() - dt.timedelta(days=200),
            )
    return surveys.schedule_manager_calls()
