"""Reads about cases that reach users; each enforces who may see which case."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Case, F, IntegerField, Q, When

from qingquan.core import clock
from qingquan.staff.access import can
from qingquan.tickets import clocks
from qingquan.tickets.errors import NotAllowed
from qingquan.tickets.models import CaseKind, Contact, Priority, Ticket, TicketQuerySet


def tickets_visible_to(user: Any) -> TicketQuerySet:
    """Cases `user` may see: all for supervisors and administrators; otherwise those they
    own, handle, or that sit with their department or crew."""
    qs = Ticket.objects.select_related("kind", "kind__parent", "owner", "department", "team")
    if not can(user, "tickets.view"):
        return qs.none()
    if can(user, "tickets.view_all"):
        return qs
    scope = Q(owner=user) | Q(assignee=user)
    if can(user, "tickets.work"):
        if user.department_id:
            scope |= Q(department_id=user.department_id)
        if user.team_id:
            scope |= Q(team_id=user.team_id)
    return qs.filter(scope)


def ticket_for(*, user: Any, number: str) -> Ticket:
    """The case `number` if `user` may see it; raises NotAllowed (shown as 404/403)."""
    ticket = tickets_visible_to(user).filter(number=number).first()
    if ticket is None:
        raise NotAllowed(f"No case {number} that you may see.")
    return ticket


def ticket_to_open(*, user: Any, number: str) -> Ticket:
    """The case `number` for its page: any case for those who may look cases up
    (`tickets.look_up`, e.g. an agent answering a repeat caller), otherwise as
    `ticket_for`. Which steps the page offers is `services.allowed_actions`' answer."""
    if can(user, "tickets.view") and can(user, "tickets.look_up"):
        ticket = (
            Ticket.objects.select_related("kind", "kind__parent", "owner", "department", "team")
            .filter(number=number)
            .first()
        )
        if ticket is None:
            raise NotAllowed(f"No case {number}.")
        return ticket
    return ticket_for(user=user, number=number)


def my_cases(user: Any, *, include_done: bool = False) -> TicketQuerySet:
    """Every case `user` owns, wherever it is now, soonest deadline first (R-INTAKE-3).

    The clock status is the denormalised `sla_state` and `resolution_deadline`.
    """
    qs = tickets_visible_to(user).filter(owner=user)
    if not include_done:
        qs = qs.open()
    return qs.order_by("resolution_deadline", "created_at")


def handled_by(user: Any) -> TicketQuerySet:
    """Open cases waiting with `user`'s department or crew (their work queue)."""
    if not can(user, "tickets.work"):
        return Ticket.objects.none()
    scope = Q(assignee=user)
    if user.department_id:
        scope |= Q(department_id=user.department_id)
    if user.team_id:
        scope |= Q(team_id=user.team_id)
    # Most pressing first: urgent bursts (1-hour arrival) before next-day enquiries.
    rank = Case(
        When(priority=Priority.URGENT, then=0),
        When(priority=Priority.HIGH, then=1),
        When(priority=Priority.NORMAL, then=2),
        default=3,
        output_field=IntegerField(),
    )
    return (
        tickets_visible_to(user)
        .open()
        .filter(scope)
        .order_by(rank, F("arrival_due").asc(nulls_last=True), "resolution_deadline", "created_at")
    )


def ticket_search(
    *,
    user: Any,
    state: str = "",
    sla_state: str = "",
    kind: str = "",
    channel: str = "",
    department: int | None = None,
    owner: int | None = None,
    text: str = "",
    created_from: dt.datetime | None = None,
    created_to: dt.datetime | None = None,
) -> TicketQuerySet:
    """Filter the cases `user` may see."""
    qs = tickets_visible_to(user)
    if state:
        qs = qs.filter(state=state)
    if sla_state:
        qs = qs.filter(sla_state=sla_state)
    if kind:
        qs = qs.filter(Q(kind__code=kind) | Q(kind__parent__code=kind))
    if channel:
        qs = qs.filter(channel=channel)
    if department:
        qs = qs.filter(department_id=department)
    if owner:
        qs = qs.filter(owner_id=owner)
    if created_from:
        qs = qs.filter(created_at__gte=created_from)
    if created_to:
        qs = qs.filter(created_at__lt=created_to)
    text = text.strip()
    if text:
        qs = qs.filter(
            Q(number__startswith=text)
            | Q(subject__icontains=text)
            | Q(caller_phone__contains=text)
            | Q(address__icontains=text)
        )
    return qs


def case_clock(ticket: Ticket, *, now: dt.datetime | None = None) -> clocks.ClockFacts | None:
    """The live clock of an open case for its page (None once resolved)."""
    if not ticket.is_open:
        return None
    return clocks.compute(ticket, now=now or clock.now())


def active_kinds() -> list[CaseKind]:
    """Case kinds offered at intake, parents before their sub-kinds."""
    kinds = list(CaseKind.objects.filter(is_active=True).select_related("parent"))
    parents = [k for k in kinds if k.parent_id is None]
    ordered: list[CaseKind] = []
    for parent in parents:
        ordered.append(parent)
        ordered.extend(k for k in kinds if k.parent_id == parent.pk)
    return ordered


def contacts_visible_to(user: Any) -> Any:
    """Contacts `user` may see: their own, and all for supervisors and administrators."""
    qs = Contact.objects.select_related("agent").prefetch_related("tickets")
    if can(user, "tickets.view_all"):
        return qs
    if not can(user, "tickets.view"):
        return qs.none()
    return qs.filter(agent=user)
