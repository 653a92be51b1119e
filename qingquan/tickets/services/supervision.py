"""Supervision and ownership: escalation (督办), reminders (催办), a new first-contact owner,
merging a case into its incident (并单, R-REP-2)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from qingquan.core import clock
from qingquan.core.actors import user_of
from qingquan.staff.access import can
from qingquan.staff.models import User
from qingquan.tickets import rules
from qingquan.tickets.errors import IllegalTransition, InvalidInput
from qingquan.tickets.models import (
    OPEN_STATES,
    Ticket,
    TicketEvent,
)
from qingquan.tickets.services.base import (
    _clean,
    _commit,
    _lock,
    _snapshot,
    _tell,
    handlers_of,
)


@transaction.atomic
def ticket_escalate(*, actor: Any, ticket: Ticket, version: int | None, note: str) -> Ticket:
    """Escalate (督办): a supervisor puts the case under supervision; handlers and owner
    are told."""
    ticket = _lock(ticket, version)
    rules.authorize(actor, ticket, "escalate")
    note = _clean(note)
    if not note:
        raise InvalidInput(_("Say what the escalation asks for."))
    before, from_state, now = _snapshot(ticket), ticket.state, clock.now()
    ticket.escalation_level += 1
    _commit(
        ticket,
        actor=actor,
        action="escalate",
        before=before,
        from_state=from_state,
        now=now,
        note=note,
        data={"level": ticket.escalation_level},
    )
    _tell(
        [ticket.owner, *handlers_of(ticket)],
        ticket,
        _("Case %(number)s is escalated: %(note)s") % {"number": ticket.number, "note": note},
        key=f"escalate:{ticket.version}",
        level="alert",
    )
    return ticket


@transaction.atomic
def ticket_remind(*, actor: Any, ticket: Ticket, version: int | None, note: str = "") -> Ticket:
    """Remind (催办) the people the case sits with; the owner chases on the caller's behalf."""
    ticket = _lock(ticket, version)
    rules.authorize(actor, ticket, "remind")
    handlers = handlers_of(ticket)
    if not handlers:
        raise IllegalTransition(_("The case is with nobody yet: dispatch it first."), ticket=ticket)
    before, from_state, now = _snapshot(ticket), ticket.state, clock.now()
    ticket.reminder_count += 1
    _commit(
        ticket,
        actor=actor,
        action="remind",
        before=before,
        from_state=from_state,
        now=now,
        note=_clean(note),
    )
    _tell(
        handlers,
        ticket,
        _("Reminder about case %(number)s: %(subject)s")
        % {"number": ticket.number, "subject": ticket.subject},
        key=f"remind:{ticket.version}",
        level="warning",
    )
    return ticket


@transaction.atomic
def ticket_change_owner(
    *, actor: Any, ticket: Ticket, version: int | None, owner: User, reason: str
) -> Ticket:
    """Give the case a new first-contact owner (supervisors only, with a reason on record)."""
    ticket = _lock(ticket, version)
    rules.authorize(actor, ticket, "change_owner")
    reason = _clean(reason, field="reason")
    if not reason:
        raise InvalidInput(_("Say why the owner changes."))
    if not owner.is_active or not can(owner, "tickets.create"):
        raise InvalidInput(_("%(user)s cannot own cases.") % {"user": owner})
    if owner.pk == ticket.owner_id:
        raise InvalidInput(_("%(user)s already owns this case.") % {"user": owner})
    before, from_state, now = _snapshot(ticket), ticket.state, clock.now()
    previous = ticket.owner
    ticket.owner = owner
    _commit(
        ticket,
        actor=actor,
        action="change_owner",
        before=before,
        from_state=from_state,
        now=now,
        note=reason,
        data={"from": previous.pk, "to": owner.pk},
    )
    _tell(
        [owner],
        ticket,
        _("You now own case %(number)s.") % {"number": ticket.number},
        key=f"owner:{ticket.version}",
    )
    return ticket


@transaction.atomic
def ticket_merge(
    *, actor: Any, ticket: Ticket, version: int | None, parent: Ticket, note: str = ""
) -> Ticket:
    """Merge (并单) a case into the case of the same event (an incident, R-REP-2).

    The merged case keeps its owner and clock; it is resolved when its parent is.
    """
    ticket = _lock(ticket, version)
    rules.authorize(actor, ticket, "merge")
    parent = Ticket.objects.select_for_update().get(pk=parent.pk)
    # Incidents are one level deep: merging into a merged case means into its parent.
    if parent.parent_id is not None:
        parent = Ticket.objects.select_for_update().get(pk=parent.parent_id)
    if parent.pk == ticket.pk:
        raise InvalidInput(_("A case cannot be merged into itself."))
    if parent.state not in OPEN_STATES:
        raise IllegalTransition(
            _("Case %(number)s is no longer open.") % {"number": parent.number}, ticket=ticket
        )
    before, from_state, now = _snapshot(ticket), ticket.state, clock.now()
    ticket.parent = parent
    _commit(
        ticket,
        actor=actor,
        action="merge",
        before=before,
        from_state=from_state,
        now=now,
        note=_clean(note),
        data={"parent": parent.pk, "parent_number": parent.number},
    )
    TicketEvent.objects.create(
        ticket=parent,
        at=now,
        actor=user_of(actor),
        action="merged_in",
        note=ticket.number,
        data={"child": ticket.pk},
    )
    return ticket
