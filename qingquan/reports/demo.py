"""Demo data for callbacks and statistics: commitments, callbacks of the demo cases,
customer managers' business customers, a report subscription."""

from __future__ import annotations

import datetime as dt
import random

from qingquan.core import clock
from qingquan.reports import rollup
from qingquan.reports.models import ReportSubscription, ServiceCommitment
from qingquan.surveys import services as surveys
from qingquan.surveys.models import CallbackTask, CustomerManagerAssignment
from qingquan.tickets.demo import demo_time
from qingquan.tickets.errors import TicketError
from qingquan.tickets.models import CaseKind, Ticket

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
    recorded = _recent_callbacks(rng) + _history_callbacks()
    managers = _seed_managers()
    ReportSubscription.objects.get_or_create(email="kefu@example.cn", frequency="monthly")
    # The demo's history was written in bulk, without the rollup listeners.
    rollup.reconcile()
    return {"commitments": commitments, "callbacks": recorded, "manager_calls": managers}


# Callback outcomes of a well-run hotline: about 99 % satisfied or fairly satisfied.
OUTCOMES = [("satisfied", 930), ("fairly_satisfied", 55), ("dissatisfied", 5), ("unreachable", 10)]


def _recent_callbacks(rng: random.Random) -> int:
    """Callback tasks for the recent cases resolved through the services (their on-commit
    hook has not run inside the demo's transaction), each made at the resolution and
    called back a few hours later; the calls still ahead of now stay to do."""
    now = clock.now()
    recorded = 0
    for ticket in Ticket.objects.filter(state="resolved").order_by("resolved_at"):
        assert ticket.resolved_at is not None
        with demo_time(ticket.resolved_at + dt.timedelta(minutes=1)):
            task = surveys.callback_task_for_resolution(ticket_id=ticket.pk)
        moment = ticket.resolved_at + dt.timedelta(hours=rng.uniform(2, 30))
        if task is None or moment > now:
            continue
        outcome = rng.choices([o for o, _w in OUTCOMES], [w for _o, w in OUTCOMES])[0]
        try:
            with demo_time(moment):
                surveys.callback_attempt_record(
                    actor=task.assignee, task=task, version=task.version, outcome=outcome
                )
        except TicketError:
            continue
        recorded += 1
    return recorded


def _history_callbacks() -> int:
    """The done callbacks of the bulk-written history (`tickets.demo_history`), one per
    closed case with an outcome and no task, completed when the case was closed."""
    cases = Ticket.objects.filter(
        state="closed",
        callback_tasks__isnull=True,
        resolved_at__isnull=False,
        closed_at__isnull=False,
    ).exclude(callback_outcome="")
    tasks = [
        CallbackTask(
            purpose=CallbackTask.Purpose.CASE,
            ticket_id=pk,
            customer_id=customer,
            assignee_id=owner,
            created_at=resolved,  # type: ignore[misc]  # not null: filtered above
            due_at=closed,
            status=CallbackTask.Status.DONE,
            attempts=1,
            outcome=outcome,
            completed_at=closed,
            completed_by_id=owner,
        )
        for pk, customer, owner, resolved, closed, outcome in cases.values_list(
            "pk", "customer_id", "owner_id", "resolved_at", "closed_at", "callback_outcome"
        )
    ]
    CallbackTask.objects.bulk_create(tasks, batch_size=1000)
    return len(tasks)


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
