"""A crafted March 2026 with every kind of KPI event, and its exact expected figures."""

from __future__ import annotations

from typing import Any

from qingquan.surveys import services as surveys
from qingquan.surveys.models import CallbackTask
from qingquan.tickets import services, tasks

from .conftest import sh


def build(at: Any, new_case: Any, people: Any) -> dict[str, Any]:
    agent, agent2 = people["agent"], people["agent2"]

    def resolve(case: Any, when: Any, who: Any = agent) -> Any:
        at(when)
        case.refresh_from_db()
        return services.ticket_resolve(
            actor=who, ticket=case, version=case.version, resolution="办结"
        )

    def call(case: Any, when: Any, outcome: str, note: str = "") -> Any:
        at(when)
        task = CallbackTask.objects.filter(ticket=case, status="open").get()
        return surveys.callback_attempt_record(
            actor=task.assignee, task=task, version=task.version, outcome=outcome, note=note
        )

    at(sh(2026, 2, 27, 20))
    d = new_case("repair-burst", channel="phone")  # February, due 28 Feb 20:00
    resolve(d, sh(2026, 3, 1, 10))  # late
    at(sh(2026, 3, 2, 9))
    a = new_case("consult-policy", channel="phone")
    resolve(a, sh(2026, 3, 2, 15))  # on time
    call(d, sh(2026, 3, 2, 16), "fairly_satisfied")
    at(sh(2026, 3, 3, 9))
    b = new_case("consultation", channel="wechat", actor=agent2)  # due 4 Mar 09:00
    call(a, sh(2026, 3, 3, 10), "satisfied")
    at(sh(2026, 3, 4, 9))
    f = new_case("consultation", channel="phone")
    resolve(f, sh(2026, 3, 4, 11))
    resolve(b, sh(2026, 3, 5, 9), agent2)  # late
    call(f, sh(2026, 3, 5, 10), "dissatisfied", "没解决")  # reopens f
    for moment in (sh(2026, 3, 5, 11), sh(2026, 3, 5, 16), sh(2026, 3, 6, 10)):
        call(b, moment, "unreachable")
    at(sh(2026, 3, 10, 9))
    c = new_case("bill", channel="phone")  # stays open
    at(sh(2026, 3, 31, 10))
    e = new_case("complaint", channel="phone")
    resolve(e, sh(2026, 4, 1, 9))
    call(e, sh(2026, 4, 2, 10), "satisfied")
    at(sh(2026, 4, 10, 12))
    # The SLA sweep (every minute in production) flags the deadlines passed unresolved:
    # c's, and f's second one after its reopening; they count as late on those days.
    tasks.sweep()
    return {"a": a, "b": b, "c": c, "d": d, "e": e, "f": f}


# March: created a, b, c, e, f (5); done now a, b, e (3). Resolved in March and still
# done: d, a, b — f's resolution was undone by its reopening. On time: a. Late, on the
# day their deadline passed unresolved: b (4 Mar, resolved the next day), c (11 Mar,
# still open), f (6 Mar, its deadline after the reopening); d's deadline passed on 28
# February, so it is late in February although resolved in March.
# Callbacks completed in March: d fairly, a satisfied, f dissatisfied, b unreachable.
MARCH = {
    "contacts": 5,
    "created": 5,
    "done": 3,
    "resolved": 3,
    "on_time": 1,
    "late": 3,
    "cb_satisfied": 1,
    "cb_fairly": 1,
    "cb_dissatisfied": 1,
    "cb_unreachable": 1,
    "cb_declined": 0,
}
