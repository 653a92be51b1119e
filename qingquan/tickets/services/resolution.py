"""Resolution (办结, with the cases merged into it), the follow-up call (回访), closing and
reopening."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from qingquan.core import clock
from qingquan.core.actors import user_of
from qingquan.tickets import clocks, rules
from qingquan.tickets.errors import InvalidInput
from qingquan.tickets.models import (
    OPEN_STATES,
    CallbackOutcome,
    SlaState,
    Ticket,
)
from qingquan.tickets.services.base import (
    S,
    Visibility,
    _clean,
    _commit,
    _end_open_pause,
    _lock,
    _refresh_sla,
    _snapshot,
    _tell,
)


def _resolve_locked(ticket: Ticket, *, actor: Any, resolution: str, now: dt.datetime) -> Ticket:
    before, from_state = _snapshot(ticket), ticket.state
    _end_open_pause(ticket, actor=actor, now=now)
    facts = clocks.compute(ticket, now=now)
    clocks.apply_facts(ticket, facts)
    assert facts.deadline is not None  # no open pause any more
    ticket.on_time = now <= facts.deadline and ticket.breached_at is None
    ticket.sla_state = SlaState.DONE
    ticket.warn_at = None
    ticket.state = S.RESOLVED
    ticket.resolved_at = now
    ticket.resolution = resolution
    return _commit(
        ticket,
        actor=actor,
        action="resolve",
        before=before,
        from_state=from_state,
        now=now,
        note=resolution,
        visibility=Visibility.CUSTOMER,
        data={"on_time": ticket.on_time},
    )


@transaction.atomic
def ticket_resolve(*, actor: Any, ticket: Ticket, version: int | None, resolution: str) -> Ticket:
    """Resolve (办结) a case; its clock stops. Cases merged into it are resolved with it,
    and each of their owners is told (R-REP-2)."""
    ticket = _lock(ticket, version)
    rules.authorize(actor, ticket, "resolve")
    resolution = _clean(resolution, field="resolution")
    if not resolution:
        raise InvalidInput(_("Describe how the case was resolved."))
    now = clock.now()
    _resolve_locked(ticket, actor=actor, resolution=resolution, now=now)
    if user_of(actor) is None or actor.pk != ticket.owner_id:
        _tell(
            [ticket.owner],
            ticket,
            _("Case %(number)s is resolved: please call the customer back.")
            % {"number": ticket.number},
            key=f"resolved:{ticket.version}",
        )
    for child_id in ticket.children.filter(state__in=OPEN_STATES).values_list("pk", flat=True):
        child = _lock(child_id, None)
        _resolve_locked(
            child,
            actor=actor,
            resolution=_("Resolved with case %(number)s: %(resolution)s")
            % {"number": ticket.number, "resolution": resolution},
            now=now,
        )
        _tell(
            [child.owner],
            child,
            _("Case %(number)s was resolved with incident %(parent)s.")
            % {"number": child.number, "parent": ticket.number},
            key=f"resolved:{child.version}",
        )
    return ticket


@transaction.atomic
def ticket_callback_record(
    *, actor: Any, ticket: Ticket, version: int | None, outcome: str, note: str = ""
) -> Ticket:
    """Record the owner's follow-up call (回访). A call that reached the customer closes
    the case; an unreachable one is recorded and the case stays resolved for another try."""
    ticket = _lock(ticket, version)
    rules.authorize(actor, ticket, "callback")
    if outcome not in CallbackOutcome.values:
        raise InvalidInput(_("Unknown callback outcome %(outcome)s.") % {"outcome": outcome})
    before, from_state, now = _snapshot(ticket), ticket.state, clock.now()
    ticket.callback_outcome = outcome
    if outcome != CallbackOutcome.UNREACHABLE:
        ticket.state = S.CLOSED
        ticket.closed_at = now
    return _commit(
        ticket,
        actor=actor,
        action="callback",
        before=before,
        from_state=from_state,
        now=now,
        note=_clean(note),
        data={"outcome": outcome},
    )


@transaction.atomic
def ticket_close(*, actor: Any, ticket: Ticket, version: int | None, note: str = "") -> Ticket:
    """Close a resolved case without a callback (e.g. the customer asked not to be called)."""
    ticket = _lock(ticket, version)
    rules.authorize(actor, ticket, "close")
    before, from_state, now = _snapshot(ticket), ticket.state, clock.now()
    ticket.state = S.CLOSED
    ticket.closed_at = now
    return _commit(
        ticket,
        actor=actor,
        action="close",
        before=before,
        from_state=from_state,
        now=now,
        note=_clean(note),
    )


@transaction.atomic
def ticket_reopen(*, actor: Any, ticket: Ticket, version: int | None, reason: str) -> Ticket:
    """Reopen a resolved or closed case (the problem came back, the customer disagrees).

    The case returns to its owner at the hotline with a fresh resolution budget from now
    (not the old deadline: that would make it overdue, and escalated, the moment it is
    reopened). The first breach, if any, stays recorded for the KPIs.
    """
    ticket = _lock(ticket, version)
    rules.authorize(actor, ticket, "reopen")
    reason = _clean(reason, field="reason")
    if not reason:
        raise InvalidInput(_("Say why the case is reopened."))
    before, from_state, now = _snapshot(ticket), ticket.state, clock.now()
    ticket.state = S.RECEIVED
    ticket.department, ticket.team, ticket.assignee = None, None, None
    ticket.resolved_at = ticket.closed_at = None
    ticket.on_time = None
    ticket.callback_outcome = ""
    ticket.reopen_count += 1
    ticket.sla_started_at = now
    ticket.sla_extension_seconds = 0
    ticket.escalation_level = 0
    _refresh_sla(ticket, now=now)
    return _commit(
        ticket,
        actor=actor,
        action="reopen",
        before=before,
        from_state=from_state,
        now=now,
        note=reason,
        visibility=Visibility.CUSTOMER,
        data={
            "round": ticket.reopen_count,
            "first_breach": ticket.breached_at.isoformat() if ticket.breached_at else None,
        },
    )
