"""The wallboard, the statistics (page, exports) and the public commitments give the same
on-time and closure figures on generated histories: they read one selector, and a case
open past its deadline is late in all of them (decision in docs/kpis.md)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qingquan.console.selectors import wallboard
from qingquan.core import clock
from qingquan.reports import commitments, exports, rollup, selectors
from qingquan.reports.models import ServiceCommitment
from qingquan.reports.periods import period
from qingquan.tickets import kpis, services, tasks
from qingquan.tickets.errors import TicketError
from qingquan.tickets.models import Ticket

from .conftest import sh

pytestmark = pytest.mark.django_db

KINDS = ["consultation", "bill-amount", "repair-leak", "complaint-attitude"]

operation = st.one_of(
    st.tuples(st.just("create"), st.sampled_from(KINDS)),
    st.tuples(st.just("resolve"), st.integers(0, 30)),
    st.tuples(st.just("reopen"), st.integers(0, 30)),
    st.tuples(st.just("wait"), st.integers(1, 30)),
    st.tuples(st.just("sweep"), st.just(0)),
)


def _play(ops: list[tuple[Any, ...]], at: Any, new_case: Any, people: Any) -> dt.datetime:
    now = sh(2026, 3, 2, 8)
    at(now)
    sup = people["supervisor"]
    for op in ops:
        cases = list(Ticket.objects.order_by("pk"))
        pick = cases[op[1] % len(cases)] if cases and op[0] in ("resolve", "reopen") else None
        try:
            if op[0] == "create":
                new_case(op[1], channel="phone")
            elif op[0] == "resolve" and pick is not None:
                services.ticket_resolve(
                    actor=sup, ticket=pick, version=pick.version, resolution="已处理"
                )
            elif op[0] == "reopen" and pick is not None:
                services.ticket_reopen(actor=sup, ticket=pick, version=pick.version, reason="未好")
            elif op[0] == "wait":
                now += dt.timedelta(hours=op[1])
                at(now)
            elif op[0] == "sweep":
                tasks.sweep()
        except TicketError:
            pass  # not allowed in this state
    tasks.sweep()  # the minute's sweep: every deadline passed is flagged by now
    return now


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(operation, min_size=4, max_size=30))
def test_wallboard_statistics_and_commitments_agree(
    ops: list[tuple[Any, ...]], at: Any, new_case: Any, people: Any
) -> None:
    # Hypothesis runs every example in the one test transaction: each example's history is
    # rolled back at its end, so the next starts from an empty hotline.
    with transaction.atomic():
        _check(_play(ops, at, new_case, people), people)
        transaction.set_rollback(True)


def _check(now: dt.datetime, people: Any) -> None:
    sup = people["supervisor"]
    on_time = ServiceCommitment.objects.create(title="及时", text="t", measure="on_time")
    closure = ServiceCommitment.objects.create(title="办结", text="t", measure="closure")
    today = period("day", now.astimezone(sh(2026, 1, 1).tzinfo).date())
    for span in (today, period("week", today.start), period("month", today.start)):
        (row,) = selectors.kpi_table(user=sup, period=span)
        (raw_on_time,) = kpis.on_time_rate(start=span.start_at, end=span.end_at)
        (raw_closure,) = kpis.closure_rate(start=span.start_at, end=span.end_at)
        assert (row.on_time, row.timed) == (raw_on_time.numerator, raw_on_time.denominator)
        assert (row.done, row.created) == (raw_closure.numerator, raw_closure.denominator)
        promised = commitments.performance(on_time, span)
        assert (promised["numerator"], promised["denominator"]) == (row.on_time, row.timed)
        finished = commitments.performance(closure, span)
        assert (finished["numerator"], finished["denominator"]) == (row.done, row.created)
        exported = exports.report_data(user=sup, period=span, by=None)["overall"]
        assert exported.as_dict() == row.as_dict()
    board = wallboard(user=sup)
    (row,) = selectors.kpi_table(user=sup, period=today)
    assert (board.on_time.numerator, board.on_time.denominator) == (row.on_time, row.timed)
    assert (board.closure.numerator, board.closure.denominator) == (row.done, row.created)
    # Every open case past its deadline on the clock the wallboard read (it ticks on from
    # `now`: a deadline at `now` exactly has passed) is flagged and on the wallboard; a case
    # reopened after a breach has a new budget and is not overdue now.
    current = clock.now()
    overdue_now = Ticket.objects.open().filter(resolution_deadline__lt=current)
    assert board.breached_open == overdue_now.count()
    assert not overdue_now.filter(breached_at=None).exists()
    # Every open case ever overdue is late in the period of its first breach, reopened or
    # not (docs/kpis.md).
    for case in Ticket.objects.open().filter(breached_at__isnull=False):
        assert case.breached_at is not None
        day = period("day", case.breached_at.astimezone(today.start_at.tzinfo).date())
        assert selectors.drill(user=sup, period=day, metric="late").filter(pk=case.pk).exists()
    # Each case counts once at most, over all time.
    ever = period("custom", dt.date(2026, 1, 1), dt.date(2027, 1, 1))
    (all_time,) = selectors.kpi_table(user=sup, period=ever)
    counted = (
        Ticket.objects.filter(breached_at__isnull=False).count()
        + Ticket.objects.filter(
            breached_at__isnull=True, on_time__isnull=False, state__in=("resolved", "closed")
        ).count()
    )
    assert all_time.timed == counted
    assert rollup.consistency_check() == []
