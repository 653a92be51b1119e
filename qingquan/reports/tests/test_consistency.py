"""Rollups equal a recomputation from the raw rows after random sequences of real
operations (tickets' services and the callback services), on hypothesis' choice."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qingquan.reports import rollup
from qingquan.surveys import services as surveys
from qingquan.surveys.models import CallbackTask
from qingquan.tickets import services
from qingquan.tickets.errors import TicketError
from qingquan.tickets.models import Ticket

from .conftest import sh

pytestmark = pytest.mark.django_db

KINDS = ["consultation", "bill-amount", "repair-leak", "complaint-attitude", "praise"]
CHANNELS = ["phone", "wechat", "counter"]
OUTCOMES = ["satisfied", "fairly_satisfied", "dissatisfied", "unreachable", "declined"]

operation = st.one_of(
    st.tuples(st.just("create"), st.sampled_from(KINDS), st.sampled_from(CHANNELS)),
    st.tuples(st.just("dispatch"), st.integers(0, 30)),
    st.tuples(st.just("resolve"), st.integers(0, 30)),
    st.tuples(st.just("callback"), st.integers(0, 30), st.sampled_from(OUTCOMES)),
    st.tuples(st.just("reopen"), st.integers(0, 30)),
    st.tuples(st.just("close"), st.integers(0, 30)),
    st.tuples(st.just("contact"), st.sampled_from(CHANNELS)),
    st.tuples(st.just("wait"), st.integers(1, 40)),
)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(operation, min_size=3, max_size=25))
def test_rollups_equal_recomputation(
    ops: list[tuple[Any, ...]], at: Any, new_case: Any, people: Any, org: Any
) -> None:
    now = sh(2026, 3, 2, 8)
    at(now)
    actors = [people["agent"], people["agent2"]]
    for index, op in enumerate(ops):
        cases = list(Ticket.objects.order_by("pk"))
        pick = (
            cases[op[1] % len(cases)]
            if cases and isinstance(op[1], int) and op[0] != "wait"
            else None
        )
        try:
            if op[0] == "create":
                new_case(op[1], channel=op[2], actor=actors[index % 2])
            elif op[0] == "dispatch" and pick is not None:
                services.ticket_dispatch(
                    actor=people["supervisor"],
                    ticket=pick,
                    version=pick.version,
                    department=org["repair"] if index % 2 else org["billing"],
                )
            elif op[0] == "resolve" and pick is not None:
                services.ticket_resolve(
                    actor=people["supervisor"], ticket=pick, version=pick.version, resolution="好了"
                )
            elif op[0] == "callback" and pick is not None:
                task = CallbackTask.objects.filter(ticket=pick, status="open").first()
                if task is not None:
                    surveys.callback_attempt_record(
                        actor=people["supervisor"],
                        task=task,
                        version=task.version,
                        outcome=op[2],
                        note="随机",
                    )
            elif op[0] == "reopen" and pick is not None:
                services.ticket_reopen(
                    actor=people["supervisor"], ticket=pick, version=pick.version, reason="再看看"
                )
            elif op[0] == "close" and pick is not None:
                services.ticket_close(actor=people["supervisor"], ticket=pick, version=pick.version)
            elif op[0] == "contact":
                services.contact_record(actor=people["agent"], channel=op[1])
            elif op[0] == "wait":
                now += dt.timedelta(hours=op[1])
                at(now)
        except TicketError:
            pass  # not allowed in this state: nothing may have changed
    assert rollup.consistency_check() == []
