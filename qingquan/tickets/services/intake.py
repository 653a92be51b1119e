"""Intake (受理): a new case with its number, its first contact, its owner and its clocks.

Case numbers are counted per local day (20261128-0042) by `core.db.numbering`: gapless on
SQLite; on PostgreSQL one sequence a day, taken before the creation's transaction when
the caller has none open, so a creation that fails after taking its number leaves a gap
(decision 0009).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple, ParamSpec

from django.db import transaction
from django.utils.translation import gettext as _

from qingquan.core import clock, validation
from qingquan.core.actors import user_of
from qingquan.core.audit import audit_record
from qingquan.core.db import fastinsert, numbering
from qingquan.tickets import clocks, reference
from qingquan.tickets.errors import InvalidInput
from qingquan.tickets.models import (
    CaseKind,
    Channel,
    Contact,
    DayCounter,
    KindsVersion,
    Priority,
    SlaPolicy,
    Ticket,
    TicketEvent,
)
from qingquan.tickets.services.base import (
    S,
    Visibility,
    _clean,
    _phone,
    _refresh_sla,
    _require,
    _snapshot,
)
from qingquan.tickets.services.contacts import contact_insert

# Where case numbers live (core.db.numbering): the day's counter row (SQLite), the day's
# sequence tickets_number_YYYYMMDD (PostgreSQL), and the kinds' cache token read with the
# number in the same round trip (`reference`).
CASE_NUMBERS = numbering.DayNumbers(
    counter_table=DayCounter._meta.db_table,
    sequence_prefix="tickets_number_",
    numbered_table=Ticket._meta.db_table,
    numbered_column="number",
    lock_base=0x7171_0000_0000,  # + yyyymmdd: the advisory lock of a day's sequence creation
    also=f"(SELECT token FROM {KindsVersion._meta.db_table} WHERE id = 1)",  # noqa: S608
)


def _day(now: dt.datetime) -> dt.date:
    return now.astimezone(clock.SHANGHAI).date()


def _next_number(now: dt.datetime) -> tuple[str, str | None]:
    """The next readable case number of the local day (e.g. 20261128-0042) and the
    current token of the case kinds (`reference`), in one round trip."""
    day = _day(now)
    last, token = numbering.take(CASE_NUMBERS, day)
    return f"{day:%Y%m%d}-{last:04d}", token


def _number_first(now: dt.datetime) -> tuple[str, str | None] | None:
    """The number taken before the creation's transaction opens, where the database
    wants it so (`numbering.take_early`: PostgreSQL outside any transaction); else None
    and `_next_number` takes it inside."""
    day = _day(now)
    taken = numbering.take_early(CASE_NUMBERS, day)
    if taken is None:
        return None
    last, token = taken
    return f"{day:%Y%m%d}-{last:04d}", token


@dataclass(frozen=True)
class _CaseText:
    """What the caller typed about a new case, through the platform's input rules."""

    subject: str
    description: str
    caller_name: str
    caller_phone: str
    address: str

    @classmethod
    def cleaned(
        cls, *, subject: str, description: str, caller_name: str, caller_phone: str, address: str
    ) -> _CaseText:
        subject = _clean(subject, validation.SUBJECT, field="subject", line=True)
        if not subject:
            raise InvalidInput(_("A case needs a subject."))
        return cls(
            subject=subject,
            description=_clean(description, field="description"),
            caller_name=_clean(caller_name, validation.NAME, field="caller_name", line=True),
            caller_phone=_phone(caller_phone),
            address=_clean(address, validation.ADDRESS, field="address", line=True),
        )


def _check_choices(*, channel: str, priority: str) -> None:
    if channel not in Channel.values:
        raise InvalidInput(_("Unknown channel %(channel)s.") % {"channel": channel})
    if priority and priority not in Priority.values:
        raise InvalidInput(_("Unknown priority %(priority)s.") % {"priority": priority})


class Opened(NamedTuple):
    """A new case and its "create" timeline entry, for a caller that builds on the entry
    without reading it back (the partner intake writes its webhook rows and its answer
    from it)."""

    ticket: Ticket
    create_event: TicketEvent


def ticket_open(
    *,
    actor: Any,
    kind: CaseKind,
    channel: str,
    subject: str,
    description: str = "",
    caller_name: str = "",
    caller_phone: str = "",
    address: str = "",
    district: Any = None,
    customer: Any = None,
    account: Any = None,
    premise: Any = None,
    priority: str = "",
    contact: Contact | None = None,
) -> Opened:
    """Receive a case (受理). Its owner is whoever took the first contact (R-INTAKE-3).

    Without a `contact` one is recorded from the channel and caller's number, so every
    case has the contact that opened it. The kind's time-limit policy is copied onto the
    case and the clock starts now. The number is a day's sequence: unique, never reused;
    on PostgreSQL a creation that fails after taking its number leaves a gap. Returns the
    case and its "create" entry (`ticket_create` returns the case alone).
    """
    _require(actor, "tickets.create")
    _check_choices(channel=channel, priority=priority)
    # Checked before the number is taken (a refusal leaves no gap in the day's numbers).
    text = _CaseText.cleaned(
        subject=subject,
        description=description,
        caller_name=caller_name,
        caller_phone=caller_phone,
        address=address,
    )
    if account is not None and customer is None:
        customer = getattr(account, "customer", None)
    now = clock.now()
    taken = _number_first(now)
    with transaction.atomic():
        if contact is None:
            contact = contact_insert(
                actor=actor,
                channel=channel,
                from_address=text.caller_phone,
                started_at=now,
                customer=customer,
            )
        owner = contact.agent or user_of(actor)
        if owner is None:
            raise InvalidInput(_("A case needs an owner: the agent who took its first contact."))
        number, token = taken or _next_number(now)
        kind = _kind_now(kind, token)
        policy = kind.effective_policy()
        ticket = Ticket(
            number=number,
            kind=kind,
            channel=channel,
            priority=priority or kind.effective_priority(),
            subject=text.subject,
            description=text.description,
            caller_name=text.caller_name,
            caller_phone=text.caller_phone,
            address=text.address,
            district=district,
            customer=customer,
            account=account,
            premise=premise,
            state=S.RECEIVED,
            owner=owner,
            created_by=user_of(actor),
            created_at=now,
            updated_at=now,
        )
        _start_clocks(ticket, policy, now=now)
        # One precompiled INSERT with the signals save() sends (issue #12).
        fastinsert.create(ticket, signals=True)
        event = _record_creation(ticket, actor=actor, contact=contact, policy=policy, now=now)
        return Opened(ticket, event)


P = ParamSpec("P")


def _case_of(open_case: Callable[P, Opened]) -> Callable[P, Ticket]:
    def ticket_create(*args: P.args, **kwargs: P.kwargs) -> Ticket:
        return open_case(*args, **kwargs).ticket

    ticket_create.__doc__ = f"{open_case.__doc__}\n    (`ticket_create`: the case alone.)"
    return ticket_create


# What most callers use: `ticket_open`'s keywords, the new case as the answer.
ticket_create = _case_of(ticket_open)


def _kind_now(kind: CaseKind, token: str | None) -> CaseKind:
    """The kind and its policy as they are now (the cached catalogue, reloaded if any kind
    or policy changed since, in any process): the case is promised today's time limit."""
    kind = reference.catalogue(token).by_pk.get(kind.pk) or kind
    if not kind.is_active:
        raise InvalidInput(_("The case kind %(kind)s is no longer used.") % {"kind": kind})
    return kind


def _start_clocks(ticket: Ticket, policy: SlaPolicy, *, now: dt.datetime) -> None:
    """Copy the kind's time-limit policy onto the new case and start its clocks now:
    resolution (counted by the policy's schedule), response, arrival and restoration."""
    ticket.sla_policy_code = policy.code
    ticket.sla_clock_kind = policy.clock_kind
    ticket.sla_schedule = policy.schedule
    ticket.sla_warn_fraction = policy.warn_fraction
    ticket.sla_resolution_seconds = policy.resolution_seconds
    ticket.sla_started_at = now
    ticket.arrival_deadline = clocks.calendar_deadline(now, policy.arrival_seconds)
    ticket.restoration_deadline = clocks.calendar_deadline(now, policy.restoration_seconds)
    ticket.response_deadline = clocks.response_deadline(ticket, policy.response_seconds)
    ticket.response_due = ticket.response_deadline
    ticket.arrival_due = ticket.arrival_deadline
    ticket.restoration_due = ticket.restoration_deadline
    _refresh_sla(ticket, now=now)


def _record_creation(
    ticket: Ticket, *, actor: Any, contact: Contact, policy: SlaPolicy, now: dt.datetime
) -> TicketEvent:
    """The saved case's link to its first contact, its "create" timeline entry (returned)
    and its audit event."""
    fastinsert.insert(Contact.tickets.through, {"contact_id": contact.pk, "ticket_id": ticket.pk})
    event = TicketEvent(
        ticket=ticket,
        at=now,
        actor=user_of(actor),
        action="create",
        to_state=ticket.state,
        note=ticket.subject,
        visibility=Visibility.CUSTOMER,
        data={"contact": contact.pk, "policy": policy.code},
    )
    fastinsert.create(event, signals=True)
    audit_record(actor=actor, action="ticket.create", obj=ticket, after=_snapshot(ticket))
    return event
