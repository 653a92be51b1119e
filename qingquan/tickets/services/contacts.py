"""Contacts (R-INTAKE-2): recording one, ending it, linking it to the cases it touched."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any, ParamSpec

from django.db import transaction
from django.utils.translation import gettext as _

from qingquan.core import clock
from qingquan.core.actors import user_of
from qingquan.core.audit import audit_record
from qingquan.core.db import fastinsert
from qingquan.customers import privacy
from qingquan.tickets.errors import InvalidInput
from qingquan.tickets.models import Channel, Contact, ContactOutcome, Ticket, TicketEvent
from qingquan.tickets.services.base import _clean, _when


def contact_insert(
    *,
    actor: Any,
    channel: str,
    from_address: str = "",
    started_at: dt.datetime | None = None,
    ended_at: dt.datetime | None = None,
    agent: Any = None,
    recording_ref: str = "",
    customer: Any = None,
    note: str = "",
    tickets: Iterable[Ticket] = (),
    wait_seconds: int | None = None,
    outcome: str = "",
) -> Contact:
    """contact_record's work, inside the caller's transaction (no savepoint): for a
    service that records the contact as part of its own creation (`ticket_create`, the
    partner intake)."""
    if channel not in Channel.values:
        raise InvalidInput(_("Unknown channel %(channel)s.") % {"channel": channel})
    _check_times(wait_seconds=wait_seconds, outcome=outcome)
    started_at = _when(started_at or clock.now(), "started_at")
    if ended_at is not None:
        _when(ended_at, "ended_at")
        if ended_at < started_at:
            raise InvalidInput(_("A contact cannot end before it starts."))
    # The ORM's save compiles its INSERT anew each time; the same row, signals included,
    # through one precompiled statement (issue #12).
    contact = Contact(
        channel=channel,
        from_address=_clean(from_address, 120, field="from_address", line=True),
        started_at=started_at,
        ended_at=ended_at,
        duration_seconds=int((ended_at - started_at).total_seconds()) if ended_at else None,
        agent=agent if agent is not None else user_of(actor),
        recording_ref=_clean(recording_ref, 200, field="recording_ref", line=True),
        customer=customer,
        note=_clean(note),
        wait_seconds=wait_seconds,
        outcome=outcome,
    )
    fastinsert.create(contact, signals=True)
    ticket_list = list(tickets)
    if ticket_list:
        contact.tickets.add(*ticket_list)
    audit_record(
        actor=actor,
        action="contact.record",
        obj=contact,
        after={
            "channel": channel,
            "from": contact.from_address,
            "tickets": [t.pk for t in ticket_list],
        },
    )
    return contact


P = ParamSpec("P")


def _atomic(insert: Callable[P, Contact]) -> Callable[P, Contact]:
    @transaction.atomic
    def contact_record(*args: P.args, **kwargs: P.kwargs) -> Contact:
        return insert(*args, **kwargs)

    contact_record.__doc__ = (
        "Record one contact (R-INTAKE-2) and link it to the cases it opened or touched, in\n"
        "a transaction of its own: `contact_insert`'s keywords."
    )
    return contact_record


# What most callers use: `contact_insert` in a transaction (a savepoint in the caller's).
contact_record = _atomic(contact_insert)


def _check_times(*, wait_seconds: int | None, outcome: str) -> None:
    if wait_seconds is not None and wait_seconds < 0:
        raise InvalidInput(_("Waiting time cannot be negative."))
    if outcome and outcome not in ContactOutcome.values:
        raise InvalidInput(_("Unknown contact outcome %(outcome)s.") % {"outcome": outcome})


@transaction.atomic
def contact_end(
    *,
    actor: Any,
    contact: Contact,
    ended_at: dt.datetime,
    talk_seconds: int | None = None,
    wait_seconds: int | None = None,
    outcome: str = "",
    recording_ref: str = "",
) -> Contact:
    """Record the end of a contact: when it ended, the talk time (`duration_seconds`,
    from the end minus the start unless given), the caller's waiting time, how it ended
    and the recording. A contact ends once; the change is audited."""
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    ended_at = clock.ensure_aware(ended_at)
    if contact.ended_at is not None:
        raise InvalidInput(_("This contact has already ended."))
    if ended_at < contact.started_at:
        raise InvalidInput(_("A contact cannot end before it starts."))
    if talk_seconds is not None and talk_seconds < 0:
        raise InvalidInput(_("Talk time cannot be negative."))
    _check_times(wait_seconds=wait_seconds, outcome=outcome)
    fields = ("ended_at", "duration_seconds", "wait_seconds", "outcome", "recording_ref")
    before = {name: getattr(contact, name) for name in fields}
    contact.ended_at = ended_at
    contact.duration_seconds = (
        talk_seconds
        if talk_seconds is not None
        else int((ended_at - contact.started_at).total_seconds())
    )
    if wait_seconds is not None:
        contact.wait_seconds = wait_seconds
    contact.outcome = outcome or contact.outcome
    contact.recording_ref = (
        _clean(recording_ref, 200, field="recording_ref", line=True) or contact.recording_ref
    )
    contact.save(update_fields=list(fields))
    audit_record(
        actor=actor,
        action="contact.end",
        obj=contact,
        before=before,
        after={name: getattr(contact, name) for name in fields},
    )
    return contact


@transaction.atomic
def contact_link(*, actor: Any, contact: Contact, ticket: Ticket) -> Contact:
    """Link a contact to a case it touched (e.g. a caller chasing an open case)."""
    contact.tickets.add(ticket)
    TicketEvent.objects.create(
        ticket=ticket,
        at=clock.now(),
        actor=user_of(actor),
        action="contact",
        note=_("Contact by %(channel)s from %(who)s")
        # The timeline is read by every role on the case: the number is kept masked in it.
        % {
            "channel": contact.get_channel_display(),
            "who": privacy.mask(contact.from_address) or "—",
        },
        data={"contact": contact.pk},
    )
    audit_record(actor=actor, action="contact.link", obj=contact, after={"ticket": ticket.pk})
    return contact
