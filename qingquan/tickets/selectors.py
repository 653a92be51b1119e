"""Reads about cases that reach users; each enforces who may see which case."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Case, F, IntegerField, Q, QuerySet, When

from qingquan.areas.models import District
from qingquan.core import clock
from qingquan.staff.access import can
from qingquan.staff.models import Department, Team, User
from qingquan.tickets import clocks
from qingquan.tickets.errors import NotAllowed
from qingquan.tickets.models import (
    CaseKind,
    Contact,
    Priority,
    Ticket,
    TicketEvent,
    TicketExtension,
    TicketPause,
    TicketQuerySet,
)


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


def visible_case(*, user: Any, number: str) -> Ticket | None:
    """The case `number` if `user` may see it, else None (e.g. a merge's target)."""
    return tickets_visible_to(user).filter(number=number).first()


def ticket_after_step(ticket: Ticket) -> Ticket:
    """The case as a step just left it, read back with what its page and the API show of
    the hand-off (the caller saw it before the step, through the selectors above)."""
    return Ticket.objects.select_related(
        "kind", "kind__parent", "owner", "department", "team", "assignee", "parent"
    ).get(pk=ticket.pk)


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


def overdue_cases(user: Any) -> TicketQuerySet:
    """Open cases past their deadline that `user` may see, the longest overdue first."""
    return ticket_search(user=user, sla_state="breached").open().order_by("resolution_deadline")


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


@dataclass(frozen=True)
class CaseHistory:
    """What a case's page and the API's detail show below its facts."""

    events: list[TicketEvent]  # the whole timeline, oldest first, with each actor
    pauses: list[TicketPause]
    extensions: list[TicketExtension]
    children: list[Ticket]  # the cases merged into this one


def case_history(ticket: Ticket, *, extensions: bool = True) -> CaseHistory:
    """The timeline, pauses, extension requests and merged cases of `ticket`, a case the
    caller got through `ticket_for` or `ticket_to_open`."""
    return CaseHistory(
        events=list(ticket.events.select_related("actor")),
        pauses=list(ticket.pauses.all()),
        extensions=list(ticket.extensions.all()) if extensions else [],
        children=list(ticket.children.all()),
    )


def pending_extensions(ticket: Ticket) -> QuerySet[TicketExtension]:
    """The extension requests of `ticket` waiting for a supervisor."""
    return ticket.extensions.filter(status=TicketExtension.Status.PENDING)


def extension_of(ticket: Ticket, pk: Any) -> TicketExtension | None:
    """The extension request `pk` of `ticket` (None for another case's or a bad id)."""
    try:
        return ticket.extensions.filter(pk=int(pk)).first()
    except (TypeError, ValueError):
        return None


def departments() -> QuerySet[Department]:
    """Departments a case can be handed to."""
    return Department.objects.all()


def teams() -> QuerySet[Team]:
    """Teams and crews a case can be handed to, with their department."""
    return Team.objects.select_related("department")


def department_by(*, pk: Any = None, code: str | None = None) -> Department | None:
    """A department by the form's id or the API's code (None when unknown or empty)."""
    return _one(Department.objects.all(), pk=pk, code=code)


def team_by(*, pk: Any = None, code: str | None = None) -> Team | None:
    """A team or crew by the form's id or the API's code (None when unknown or empty)."""
    return _one(Team.objects.all(), pk=pk, code=code)


def district_by(*, code: str | None) -> District | None:
    """A district by its code (None when unknown or empty)."""
    return _one(District.objects.all(), code=code)


def _one(qs: QuerySet[Any], *, pk: Any = None, code: str | None = None) -> Any:
    if code:
        return qs.filter(code=code).first()
    if pk:
        try:
            return qs.filter(pk=int(pk)).first()
        except (TypeError, ValueError):
            return None
    return None


def case_owners() -> list[User]:
    """The staff a supervisor may make a case's first-contact owner: active, and holding
    `tickets.create`."""
    return [
        u
        for u in User.objects.filter(is_active=True).order_by("full_name")
        if can(u, "tickets.create")
    ]


def staff_member(*, pk: Any = None, username: str | None = None) -> User | None:
    """A staff member by the form's id or the API's username (None when unknown)."""
    if username is not None:
        return User.objects.filter(username=username).first()
    try:
        return User.objects.filter(pk=int(pk or 0)).first()
    except (TypeError, ValueError):
        return None


def kind_by_code(code: str) -> CaseKind | None:
    """The case kind `code` as the database has it now (None when unknown)."""
    return CaseKind.objects.filter(code=code).first() if code else None


def active_kinds() -> list[CaseKind]:
    """Case kinds offered at intake, parents before their sub-kinds."""
    kinds = list(CaseKind.objects.filter(is_active=True).select_related("parent"))
    parents = [k for k in kinds if k.parent_id is None]
    ordered: list[CaseKind] = []
    for parent in parents:
        ordered.append(parent)
        ordered.extend(k for k in kinds if k.parent_id == parent.pk)
    return ordered


def visible_contact(*, user: Any, pk: int) -> Contact | None:
    """The contact `pk` if `user` may see it, else None."""
    contact: Contact | None = contacts_visible_to(user).filter(pk=pk).first()
    return contact


def contacts_visible_to(user: Any) -> Any:
    """Contacts `user` may see: their own, and all for supervisors and administrators."""
    qs = Contact.objects.select_related("agent").prefetch_related("tickets")
    if can(user, "tickets.view_all"):
        return qs
    if not can(user, "tickets.view"):
        return qs.none()
    return qs.filter(agent=user)
