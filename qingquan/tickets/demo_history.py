"""Demo history: a year of finished cases before the recent weeks, written in bulk.

The recent weeks of the demo go through the real services (`tickets.demo`); a year of
them would take minutes. Older cases are finished business, so they are written as rows,
the way the city generator writes customers (`core.db.bulk`'s rule: the caller owns the
rules, and the rollups are rebuilt afterwards by `reports.rollup.reconcile`). Each case is
what the services would have left: the kind's time limit copied and its deadline computed
by the SLA engine, a contact that opened it, its timeline (received, dispatched, resolved,
closed), resolved within its limit — except about 2 % of the kinds that run late in a real
hotline (leaks, meters, bills, complaints, connections), which carry their breach instant.
Callbacks are added by `reports.demo`.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any

from qingquan.core import clock
from qingquan.staff.models import Department, Team, User
from qingquan.tickets import clocks
from qingquan.tickets.models import (
    CaseKind,
    Contact,
    DayCounter,
    SlaState,
    Ticket,
    TicketEvent,
    TicketState,
)

# Kinds answered on the first call (一次办结): never dispatched.
ON_THE_CALL = ("consultation", "praise", "suggestion", "other")
# Kinds that can run late in a well-run hotline, and how often.
LATE_KINDS = ("repair-leak", "repair-meter", "bill-amount", "complaint-billing", "connection")
LATE_SHARE = 0.025


@dataclass
class Cast:
    """Who works the demo cases, looked up once."""

    agents: list[User]
    crews: list[Team]
    hotline: Department | None
    kinds: dict[str, CaseKind]
    scenarios: list[tuple[Any, int]]
    districts: list[Any]
    supervisors: list[User] = field(default_factory=list)
    rows: dict[str, list[Any]] = field(default_factory=dict)


def cases_per_day(day: dt.date, rng: random.Random) -> int:
    """A quiet hotline's day: fewer at weekends, more in summer and in the cold snap."""
    base = 7 if day.weekday() < 5 else 4
    if day.month in (7, 8, 1):
        base += 3
    return base + rng.randint(0, 3)


def seed_history(
    *, cast: Cast, first: dt.date, until: dt.date, rng: random.Random, pick: Any
) -> int:
    """Write finished cases for every day in ``[first, until)``; returns how many."""
    rows: dict[str, list[Any]] = {"tickets": [], "contacts": [], "events": [], "counters": []}
    cast.rows = rows
    day = first
    while day < until:
        n = cases_per_day(day, rng)
        for index in range(1, n + 1):
            _case(cast, day=day, number=f"{day:%Y%m%d}-{index:04d}", rng=rng, pick=pick)
        rows["counters"].append(DayCounter(day=day, last=n))
        day += dt.timedelta(days=1)
    return _write(rows)


def _case(cast: Cast, *, day: dt.date, number: str, rng: random.Random, pick: Any) -> None:
    code, _w, subject, description = pick(rng, cast.scenarios)
    kind = cast.kinds[code]
    hour = pick(rng, [(h, 1 if h < 7 or h > 21 else 6) for h in range(24)])
    start = dt.datetime.combine(day, dt.time(hour, rng.randint(0, 59)), tzinfo=clock.SHANGHAI)
    agent = rng.choice(cast.agents)
    ticket = _received(kind, start=start, number=number, subject=subject, agent=agent)
    ticket.description = description
    ticket.district = rng.choice(cast.districts) if cast.districts else None
    _finish(cast, ticket, rng=rng)
    cast.rows["tickets"].append(ticket)
    cast.rows["contacts"].append(
        Contact(channel=ticket.channel, started_at=start, agent=agent, outcome="handled")
    )


def _received(
    kind: CaseKind, *, start: dt.datetime, number: str, subject: str, agent: User
) -> Ticket:
    """The case as `ticket_create` receives it (time-limit snapshot, deadlines)."""
    policy = kind.effective_policy()
    ticket = Ticket(
        number=number,
        kind=kind,
        channel="phone",
        priority=kind.effective_priority(),
        subject=subject,
        caller_phone="",
        owner=agent,
        created_by=agent,
        created_at=start,
        updated_at=start,
        sla_policy_code=policy.code,
        sla_clock_kind=policy.clock_kind,
        sla_schedule=policy.schedule,
        sla_warn_fraction=policy.warn_fraction,
        sla_resolution_seconds=policy.resolution_seconds,
        sla_started_at=start,
        arrival_deadline=clocks.calendar_deadline(start, policy.arrival_seconds),
        restoration_deadline=clocks.calendar_deadline(start, policy.restoration_seconds),
    )
    ticket.response_deadline = clocks.response_deadline(ticket, policy.response_seconds)
    clocks.apply_facts(ticket, clocks.compute(ticket, now=start, pauses=[]))
    return ticket


def _finish(cast: Cast, ticket: Ticket, *, rng: random.Random) -> None:
    """Dispatch (unless answered on the call), resolve and close the case."""
    start, deadline = ticket.created_at, ticket.resolution_deadline
    assert deadline is not None
    top = ticket.kind.top.code
    if top in ON_THE_CALL or (top == "bill" and rng.random() < 0.7):
        resolved = start + dt.timedelta(minutes=rng.randint(3, 9))
    else:
        _dispatch(cast, ticket, rng=rng)
        resolved = start + (deadline - start) * rng.uniform(0.05, 0.6)
        late = ticket.kind.code in LATE_KINDS or top in LATE_KINDS
        if late and rng.random() < LATE_SHARE / 0.3:  # the late kinds are ~30 % of cases
            resolved = deadline + dt.timedelta(hours=rng.uniform(2, 30))
            ticket.breached_at = deadline
    ticket.channel = rng.choice(["phone"] * 8 + ["wechat", "web"])
    ticket.state = TicketState.CLOSED
    ticket.sla_state = SlaState.DONE
    ticket.warn_at = None
    ticket.resolved_at = resolved
    ticket.on_time = ticket.breached_at is None
    ticket.resolution = "已处理完毕,并告知用户。"
    ticket.callback_outcome = rng.choices(
        ["satisfied", "fairly_satisfied", "dissatisfied", "unreachable"], [930, 60, 4, 6]
    )[0]
    ticket.closed_at = resolved + dt.timedelta(hours=rng.uniform(2, 40))
    ticket.updated_at = ticket.closed_at
    ticket.response_due = ticket.arrival_due = ticket.restoration_due = None
    events = [("create", start, TicketState.RECEIVED)]
    if ticket.department_id:
        ticket.accepted_at = start + dt.timedelta(minutes=rng.randint(5, 60))
        events.append(("dispatch", start + dt.timedelta(minutes=2), TicketState.DISPATCHED))
    events += [
        ("resolve", resolved, TicketState.RESOLVED),
        ("close", ticket.closed_at, TicketState.CLOSED),
    ]
    ticket._history_events = events  # type: ignore[attr-defined]


def _dispatch(cast: Cast, ticket: Ticket, *, rng: random.Random) -> None:
    department = ticket.kind.responsible_department() or cast.hotline
    ticket.department = department
    if ticket.kind.top.code == "repair" and cast.crews and ticket.kind.code != "repair-meter":
        ticket.team = rng.choice(cast.crews)
        ticket.department_id = ticket.team.department_id


def _write(rows: dict[str, list[Any]]) -> int:
    tickets: list[Ticket] = rows["tickets"]
    Ticket.objects.bulk_create(tickets, batch_size=500)
    contacts: list[Contact] = rows["contacts"]
    Contact.objects.bulk_create(contacts, batch_size=500)
    Contact.tickets.through.objects.bulk_create(
        [
            Contact.tickets.through(contact_id=c.pk, ticket_id=t.pk)
            for c, t in zip(contacts, tickets, strict=True)
        ],
        batch_size=1000,
    )
    TicketEvent.objects.bulk_create(
        [
            TicketEvent(
                ticket=t,
                at=at,
                actor=t.owner,
                action=action,
                to_state=state,
                note=t.subject if action == "create" else "",
                visibility=TicketEvent.Visibility.CUSTOMER,
            )
            for t in tickets
            for action, at, state in t._history_events  # type: ignore[attr-defined]
        ],
        batch_size=1000,
    )
    DayCounter.objects.bulk_create(rows["counters"], ignore_conflicts=True)
    return len(tickets)
