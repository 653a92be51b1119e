"""Hand-offs: dispatch (派单), transfer (转办), acceptance, the crew's arrival and the
department's return of a wrongly dispatched case (退单). The owner stays through all of
them (R-INTAKE-3)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from qingquan.core import clock
from qingquan.core.actors import user_of
from qingquan.staff.models import Department, Team
from qingquan.tickets import rules
from qingquan.tickets.errors import InvalidInput
from qingquan.tickets.models import (
    Ticket,
)
from qingquan.tickets.services.base import (
    S,
    Visibility,
    _clean,
    _commit,
    _lock,
    _snapshot,
    _tell,
    handlers_of,
)


def _target(department: Department | None, team: Team | None) -> tuple[Department, Team | None]:
    if team is not None:
        if department is not None and team.department_id != department.pk:
            raise InvalidInput(
                _("The team %(team)s is not part of %(dept)s.") % {"team": team, "dept": department}
            )
        return team.department, team
    if department is None:
        raise InvalidInput(_("Choose a department or a team to hand the case to."))
    return department, None


@transaction.atomic
def ticket_dispatch(
    *,
    actor: Any,
    ticket: Ticket,
    version: int | None,
    department: Department | None = None,
    team: Team | None = None,
    note: str = "",
) -> Ticket:
    """Dispatch (派单) a received or returned case to a department or crew.

    Without a target the kind's responsible department is used. The owner stays.
    """
    ticket = _lock(ticket, version)
    rules.authorize(actor, ticket, "dispatch")
    if department is None and team is None:
        department = ticket.kind.responsible_department()
    department, team = _target(department, team)
    before, from_state, now = _snapshot(ticket), ticket.state, clock.now()
    ticket.department, ticket.team, ticket.assignee = department, team, None
    ticket.state = S.DISPATCHED
    _commit(
        ticket,
        actor=actor,
        action="dispatch",
        before=before,
        from_state=from_state,
        now=now,
        note=_clean(note),
        data={"department": department.pk, "team": team.pk if team else None},
    )
    _tell(
        handlers_of(ticket),
        ticket,
        _("New case %(number)s: %(subject)s")
        % {"number": ticket.number, "subject": ticket.subject},
        key=f"dispatch:{ticket.version}",
    )
    return ticket


@transaction.atomic
def ticket_transfer(
    *,
    actor: Any,
    ticket: Ticket,
    version: int | None,
    department: Department | None = None,
    team: Team | None = None,
    note: str = "",
) -> Ticket:
    """Transfer (转办) a case to another department or crew; the owner stays (R-INTAKE-3)."""
    ticket = _lock(ticket, version)
    rules.authorize(actor, ticket, "transfer")
    department, team = _target(department, team)
    if department.pk == ticket.department_id and (team.pk if team else None) == ticket.team_id:
        raise InvalidInput(
            _("The case is already with %(target)s.") % {"target": team or department}
        )
    before, from_state, now = _snapshot(ticket), ticket.state, clock.now()
    data = {
        "from_department": ticket.department_id,
        "from_team": ticket.team_id,
        "department": department.pk,
        "team": team.pk if team else None,
    }
    ticket.department, ticket.team, ticket.assignee = department, team, None
    ticket.state = S.DISPATCHED
    _commit(
        ticket,
        actor=actor,
        action="transfer",
        before=before,
        from_state=from_state,
        now=now,
        note=_clean(note),
        data=data,
    )
    _tell(
        handlers_of(ticket),
        ticket,
        _("Case %(number)s transferred to you: %(subject)s")
        % {"number": ticket.number, "subject": ticket.subject},
        key=f"transfer:{ticket.version}",
    )
    return ticket


@transaction.atomic
def ticket_accept(*, actor: Any, ticket: Ticket, version: int | None, note: str = "") -> Ticket:
    """The department or crew takes the case on (办理中)."""
    ticket = _lock(ticket, version)
    rules.authorize(actor, ticket, "accept")
    before, from_state, now = _snapshot(ticket), ticket.state, clock.now()
    ticket.state = S.IN_PROGRESS
    ticket.assignee = user_of(actor)
    ticket.accepted_at = ticket.accepted_at or now
    return _commit(
        ticket,
        actor=actor,
        action="accept",
        before=before,
        from_state=from_state,
        now=now,
        note=_clean(note),
    )


@transaction.atomic
def ticket_arrive(*, actor: Any, ticket: Ticket, version: int | None, note: str = "") -> Ticket:
    """Record the crew's arrival on site (repairs: the arrival time limit)."""
    ticket = _lock(ticket, version)
    rules.authorize(actor, ticket, "arrive")
    before, from_state, now = _snapshot(ticket), ticket.state, clock.now()
    ticket.arrived_at = now
    if ticket.state == S.DISPATCHED:
        ticket.state = S.IN_PROGRESS
        ticket.assignee = user_of(actor)
        ticket.accepted_at = ticket.accepted_at or now
    on_time = ticket.arrival_deadline is None or now <= ticket.arrival_deadline
    return _commit(
        ticket,
        actor=actor,
        action="arrive",
        before=before,
        from_state=from_state,
        now=now,
        note=_clean(note),
        visibility=Visibility.CUSTOMER,
        data={"on_time": on_time},
    )


@transaction.atomic
def ticket_return(*, actor: Any, ticket: Ticket, version: int | None, reason: str) -> Ticket:
    """A department returns a wrongly dispatched case (退单) to the hotline, with a reason."""
    ticket = _lock(ticket, version)
    rules.authorize(actor, ticket, "return")
    reason = _clean(reason, field="reason")
    if not reason:
        raise InvalidInput(_("Say why the case is returned."))
    before, from_state, now = _snapshot(ticket), ticket.state, clock.now()
    data = {"department": ticket.department_id, "team": ticket.team_id}
    ticket.department, ticket.team, ticket.assignee = None, None, None
    ticket.state = S.RETURNED
    _commit(
        ticket,
        actor=actor,
        action="return",
        before=before,
        from_state=from_state,
        now=now,
        note=reason,
        data=data,
    )
    _tell(
        [ticket.owner],
        ticket,
        _("Case %(number)s was returned: %(reason)s") % {"number": ticket.number, "reason": reason},
        key=f"return:{ticket.version}",
        level="warning",
    )
    return ticket
