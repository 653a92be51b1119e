"""Every change to a case goes through these functions: one service per transition.

Each service runs in one transaction, locks the case row, checks the version the caller
read (optimistic locking: a stale version raises `StaleVersion`, so two simultaneous
changes never silently overwrite each other), checks that the state allows the step and
that the actor may take it, then writes the case, a `TicketEvent` for the timeline and an
audit event. Notifications and background work are queued with `transaction.on_commit`.

`actor` is explicit (`core.actors`): a staff user, a partner client (`PartnerActor`) or
the system (`SYSTEM` / `system(job)`: the sweep, a parent case resolving its children);
`None` is a TypeError. Who may take a step is the table in `tickets.rules`; a refusal is
`NotAllowed`, the platform's one access error. A `version=None` skips the version check
(for the system and partner callers, who act on the case as it is).

Reopening rule: a reopened case goes back to its owner at the hotline with a fresh resolution budget
counted from the reopening, so it is not escalated at once; the first breach stays on
the case (`breached_at`), and a case that was ever overdue never counts as on time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils.translation import gettext as _

from qingquan.core import clock, validation
from qingquan.core.access import AccessDenied
from qingquan.core.actors import user_of
from qingquan.core.audit import audit_record
from qingquan.core.notifications import notify
from qingquan.customers import privacy
from qingquan.staff.access import CAPABILITIES, can, check
from qingquan.staff.models import Department, Team, User
from qingquan.tickets import clocks, reference, rules
from qingquan.tickets.errors import IllegalTransition, InvalidInput, NotAllowed, StaleVersion
from qingquan.tickets.models import (
    DONE_STATES,
    OPEN_STATES,
    CallbackOutcome,
    CaseKind,
    Channel,
    Contact,
    ContactOutcome,
    PauseReason,
    Priority,
    SlaState,
    Ticket,
    TicketEvent,
    TicketExtension,
    TicketPause,
    TicketState,
)

S = TicketState
Visibility = TicketEvent.Visibility

TRACKED_FIELDS = (
    "state",
    "owner",
    "department",
    "team",
    "assignee",
    "parent",
    "priority",
    "resolution_deadline",
    "sla_state",
    "sla_extension_seconds",
    "escalation_level",
    "version",
)


# ---------------------------------------------------------------------------
# Who may act on a case: the one table in `rules`
# ---------------------------------------------------------------------------

allowed_actions = rules.allowed_actions
is_owner_side = rules.is_owner_side
is_handler = rules.is_handler
_open_pause_exists = rules.open_pause_exists
ALLOWED_FROM = rules.ALLOWED_FROM


def _require(actor: Any, capability: str) -> None:
    try:
        check(actor, capability)
    except AccessDenied as denied:
        raise NotAllowed(denied.message, capability=capability) from None


# ---------------------------------------------------------------------------
# Plumbing shared by the transitions
# ---------------------------------------------------------------------------


def _lock(ticket: Ticket | int, version: int | None) -> Ticket:
    pk = ticket if isinstance(ticket, int) else ticket.pk
    locked = (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("kind", "kind__parent", "owner", "department", "team")
        .filter(pk=pk)
        .first()
    )
    if locked is None:
        raise InvalidInput(_("This case does not exist."))
    if version is not None and locked.version != version:
        raise StaleVersion(
            _(
                "Case %(number)s was changed by someone else (you read version %(read)s, "
                "it is now version %(now)s, %(state)s). Reload it and try again."
            )
            % {
                "number": locked.number,
                "read": version,
                "now": locked.version,
                "state": locked.get_state_display(),
            },
            ticket=locked,
        )
    return locked


def _snapshot(ticket: Ticket) -> dict[str, Any]:
    from qingquan.core.audit import snapshot

    return snapshot(ticket, TRACKED_FIELDS)


def _commit(
    ticket: Ticket,
    *,
    actor: Any,
    action: str,
    before: dict[str, Any],
    from_state: str,
    now: dt.datetime,
    note: str = "",
    visibility: str = Visibility.INTERNAL,
    data: dict[str, Any] | None = None,
) -> Ticket:
    """Save the case with a new version, its timeline entry and its audit event."""
    _disarm_met_timers(ticket)
    ticket.version += 1
    ticket.updated_at = now
    ticket.save()
    TicketEvent.objects.create(
        ticket=ticket,
        at=now,
        actor=user_of(actor),
        action=action,
        from_state=from_state,
        to_state=ticket.state,
        note=note,
        visibility=visibility,
        data=data or {},
    )
    audit_record(
        actor=actor,
        action=f"ticket.{action}",
        obj=ticket,
        before=before,
        after=_snapshot(ticket),
        note=note,
    )
    return ticket


def _disarm_met_timers(ticket: Ticket) -> None:
    """Stop watching the budgets the case has met: the response once it left "received",
    the arrival once the crew is on site, every budget once it is resolved."""
    if ticket.state != S.RECEIVED:
        ticket.response_due = None
    if ticket.arrived_at is not None or ticket.state in DONE_STATES:
        ticket.arrival_due = None
    if ticket.state in DONE_STATES:
        ticket.restoration_due = None


def _rearm_timers(ticket: Ticket, *, paused: dt.timedelta) -> None:
    """After a pause: the response, arrival and restoration deadlines not yet missed move
    by the paused time (calendar time, as those budgets count) and are watched again;
    `_commit` disarms those already met."""
    for deadline, due, stamp in (
        ("response_deadline", "response_due", "response_breached_at"),
        ("arrival_deadline", "arrival_due", "arrival_breached_at"),
        ("restoration_deadline", "restoration_due", "restoration_breached_at"),
    ):
        value = getattr(ticket, deadline)
        if value is None or getattr(ticket, stamp) is not None:
            continue
        setattr(ticket, deadline, value + paused)
        setattr(ticket, due, value + paused)


def _refresh_sla(ticket: Ticket, *, now: dt.datetime) -> None:
    """Recompute the open case's clock and queue the calendar-gap alarm if needed."""
    if ticket.state not in OPEN_STATES:
        return
    facts = clocks.compute(ticket, now=now)
    clocks.apply_facts(ticket, facts)
    if facts.gap_years:
        from qingquan.tickets import tasks

        years = list(facts.gap_years)
        # Read the id at commit time: a new case has none until it is saved.
        # robust: a failing enqueue after the commit is logged, never the caller's error.
        transaction.on_commit(
            lambda: tasks.calendar_gap_alert.enqueue(ticket_id=ticket.pk, years=years),
            robust=True,
        )
    if facts.state in (SlaState.WARNING, SlaState.BREACHED):
        # A change (a resume, a short budget…) can land a case straight past a
        # threshold, where the sweep (which looks for crossings) would not see it.
        from qingquan.tickets import tasks

        kind = str(facts.state)
        transaction.on_commit(
            lambda: tasks.sla_alerts.enqueue(ticket_ids=[ticket.pk], kind=kind), robust=True
        )


def _clean(
    text: str | None, limit: int = validation.TEXT, *, field: str = "note", line: bool = False
) -> str:
    """Text as the platform's input rules allow it (core.validation): trimmed, never cut:
    too long, a control character (tab and new lines allowed unless `line`) or a lone
    surrogate is refused with a message naming the field and its limit."""
    try:
        return validation.clean_text(text, field=field, max_length=limit, multiline=not line)
    except ValidationError as error:
        raise InvalidInput(error.messages[0]) from None


def _phone(number: str | None, *, field: str = "caller_phone") -> str:
    """A caller's number in E.164 ("" for none); not a phone number is refused."""
    try:
        return validation.clean_phone(number, field=field)
    except ValidationError as error:
        raise InvalidInput(error.messages[0]) from None


def _when(value: dt.datetime, field: str) -> dt.datetime:
    try:
        return validation.check_datetime(value, field=field)
    except ValidationError as error:
        raise InvalidInput(error.messages[0]) from None


def _link(ticket: Ticket) -> str:
    from django.urls import reverse

    return reverse("tickets:detail", args=[ticket.number])


def _tell(
    users: Iterable[Any], ticket: Ticket, title: str, *, key: str, level: str = "info"
) -> None:
    """Notify each distinct user once about this case event (dedupe per key)."""
    seen: set[int] = set()
    for user in users:
        if user is None or user.pk in seen or not user.is_active:
            continue
        seen.add(user.pk)
        notify(
            recipient=user,
            title=title,
            link=_link(ticket),
            level=level,
            dedupe_key=f"t{ticket.pk}:{key}"[:120],
        )


def handlers_of(ticket: Ticket) -> list[User]:
    """The people the case currently sits with: the assignee, else its crew or department."""
    if ticket.assignee_id:
        return [ticket.assignee]  # type: ignore[list-item]
    roles = CAPABILITIES["tickets.work"]
    people = User.objects.filter(is_active=True, role__in=roles)
    if ticket.team_id:
        return list(people.filter(team_id=ticket.team_id))
    if ticket.department_id:
        return list(people.filter(department_id=ticket.department_id))
    return []


NUMBER_SQL = (
    "INSERT INTO tickets_daycounter (day, last) VALUES (%s, 1) "
    "ON CONFLICT (day) DO UPDATE SET last = tickets_daycounter.last + 1 "
    "RETURNING last, (SELECT token FROM tickets_kindsversion WHERE id = 1)"
)
# PostgreSQL: one sequence a day (decision 0009). `nextval` takes no row lock and is not
# undone by a rollback, so concurrent creations never wait on each other for a number.
SEQUENCE_SQL = (
    "SELECT CASE WHEN to_regclass(%s) IS NOT NULL THEN nextval(to_regclass(%s)) END, "
    "(SELECT token FROM tickets_kindsversion WHERE id = 1)"
)
SEQUENCE_LOCK = 0x7171_0000_0000  # + yyyymmdd: pg_advisory_xact_lock key of a day's creation


def sequence_name(day: dt.date) -> str:
    return f"tickets_number_{day:%Y%m%d}"


def _next_number(now: dt.datetime) -> tuple[str, str | None]:
    """The next readable case number of the local day (e.g. 20261128-0042) and the
    current token of the case kinds (`reference`), in one round trip.

    SQLite: an upsert of the day's counter row, inside the creation's transaction (SQLite
    has one writer at a time anyway): gapless. PostgreSQL: the day's sequence (created by
    the day's first creation, `_create_day_sequence`): unique, in order, no lock held;
    a creation rolled back after taking its number leaves a gap (decision 0009).
    """
    day = now.astimezone(clock.SHANGHAI).date()
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            cursor.execute(NUMBER_SQL, [day])
            last, token = cursor.fetchone()
        else:
            name = sequence_name(day)
            cursor.execute(SEQUENCE_SQL, [name, name])
            last, token = cursor.fetchone()
            if last is None:
                last = _create_day_sequence(day)
    return f"{day:%Y%m%d}-{last:04d}", token


def _create_day_sequence(day: dt.date) -> int:
    """Create the day's number sequence (first creation of the day) and take its first
    value. Serialised by an advisory lock held to the end of the transaction, so two
    processes never race on the catalogue (`IF NOT EXISTS` then only skips, with a
    notice, never a duplicate-key error). It starts after any number the day already has
    (the counter row of earlier versions, cases imported or generated for the day)."""
    name = sequence_name(day)
    stamp = f"{day:%Y%m%d}"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SEQUENCE_LOCK + int(stamp)])
        cursor.execute(
            "SELECT GREATEST("
            "COALESCE((SELECT last FROM tickets_daycounter WHERE day = %s), 0), "
            "COALESCE((SELECT max(substr(number, 10)::bigint) FROM tickets_ticket "
            "WHERE number LIKE %s), 0))",
            [day, f"{stamp}-%"],
        )
        start = int(cursor.fetchone()[0]) + 1
        cursor.execute(f"CREATE SEQUENCE IF NOT EXISTS {name} START WITH {start}")
        cursor.execute("SELECT nextval(%s)", [name])
        return int(cursor.fetchone()[0])


# ---------------------------------------------------------------------------
# Contacts
# ---------------------------------------------------------------------------


@transaction.atomic
def contact_record(
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
    """Record one contact (R-INTAKE-2) and link it to the cases it opened or touched."""
    return _contact_insert(
        wait_seconds=wait_seconds,
        outcome=outcome,
        actor=actor,
        channel=channel,
        from_address=from_address,
        started_at=started_at,
        ended_at=ended_at,
        agent=agent,
        recording_ref=recording_ref,
        customer=customer,
        note=note,
        tickets=tickets,
    )


def _contact_insert(
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
    """contact_record's work, inside the caller's transaction (no savepoint)."""
    if channel not in Channel.values:
        raise InvalidInput(_("Unknown channel %(channel)s.") % {"channel": channel})
    _check_times(wait_seconds=wait_seconds, outcome=outcome)
    started_at = _when(started_at or clock.now(), "started_at")
    if ended_at is not None:
        _when(ended_at, "ended_at")
        if ended_at < started_at:
            raise InvalidInput(_("A contact cannot end before it starts."))
    contact = Contact.objects.create(
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


# ---------------------------------------------------------------------------
# Creation
# ---------------------------------------------------------------------------


def ticket_create(
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
) -> Ticket:
    """Receive a case (受理). Its owner is whoever took the first contact (R-INTAKE-3).

    Without a `contact` one is recorded from the channel and caller's number, so every
    case has the contact that opened it. The kind's time-limit policy is copied onto the
    case and the clock starts now. The number is a day's sequence: unique, never reused;
    on PostgreSQL a creation that fails after taking its number leaves a gap.
    """
    _require(actor, "tickets.create")
    if channel not in Channel.values:
        raise InvalidInput(_("Unknown channel %(channel)s.") % {"channel": channel})
    if priority and priority not in Priority.values:
        raise InvalidInput(_("Unknown priority %(priority)s.") % {"priority": priority})
    subject = _clean(subject, validation.SUBJECT, field="subject", line=True)
    if not subject:
        raise InvalidInput(_("A case needs a subject."))
    # Checked before the number is taken (a refusal leaves no gap in the day's numbers).
    description = _clean(description, field="description")
    caller_name = _clean(caller_name, validation.NAME, field="caller_name", line=True)
    caller_phone = _phone(caller_phone)
    address = _clean(address, validation.ADDRESS, field="address", line=True)
    if account is not None and customer is None:
        customer = getattr(account, "customer", None)
    now = clock.now()
    taken = _number_first(now)
    with transaction.atomic():
        if contact is None:
            contact = _contact_insert(
                actor=actor,
                channel=channel,
                from_address=caller_phone,
                started_at=now,
                customer=customer,
            )
        owner = contact.agent or user_of(actor)
        if owner is None:
            raise InvalidInput(_("A case needs an owner: the agent who took its first contact."))
        number, token = taken or _next_number(now)
        # The kind and its policy as they are now (the cached catalogue, reloaded if any kind
        # or policy changed since, in any process): the case is promised today's time limit.
        kind = reference.catalogue(token).by_pk.get(kind.pk) or kind
        if not kind.is_active:
            raise InvalidInput(_("The case kind %(kind)s is no longer used.") % {"kind": kind})
        policy = kind.effective_policy()
        ticket = Ticket(
            number=number,
            kind=kind,
            channel=channel,
            priority=priority or kind.effective_priority(),
            subject=subject,
            description=description,
            caller_name=caller_name,
            caller_phone=caller_phone,
            address=address,
            district=district,
            customer=customer,
            account=account,
            premise=premise,
            state=S.RECEIVED,
            owner=owner,
            created_by=user_of(actor),
            created_at=now,
            updated_at=now,
            sla_policy_code=policy.code,
            sla_clock_kind=policy.clock_kind,
            sla_schedule=policy.schedule,
            sla_warn_fraction=policy.warn_fraction,
            sla_resolution_seconds=policy.resolution_seconds,
            sla_started_at=now,
            arrival_deadline=clocks.calendar_deadline(now, policy.arrival_seconds),
            restoration_deadline=clocks.calendar_deadline(now, policy.restoration_seconds),
        )
        ticket.response_deadline = clocks.response_deadline(ticket, policy.response_seconds)
        ticket.response_due = ticket.response_deadline
        ticket.arrival_due = ticket.arrival_deadline
        ticket.restoration_due = ticket.restoration_deadline
        _refresh_sla(ticket, now=now)
        ticket.save(force_insert=True)
        ticket._just_created = True  # type: ignore[attr-defined]  # no pauses or extensions
        Contact.tickets.through.objects.create(contact_id=contact.pk, ticket_id=ticket.pk)
        # Kept on the case for the caller (partner intake writes its outbox rows and its
        # answer from it without reading it back).
        ticket._create_event = TicketEvent.objects.create(  # type: ignore[attr-defined]
            ticket=ticket,
            at=now,
            actor=user_of(actor),
            action="create",
            to_state=ticket.state,
            note=subject,
            visibility=Visibility.CUSTOMER,
            data={"contact": contact.pk, "policy": policy.code},
        )
        audit_record(actor=actor, action="ticket.create", obj=ticket, after=_snapshot(ticket))
        return ticket


def _number_first(now: dt.datetime) -> tuple[str, str | None] | None:
    """On PostgreSQL, outside any transaction, the number is taken before the creation's
    transaction opens (the day's first creation then does not hold the sequence's
    creation lock through its own transaction). SQLite takes it inside (no gaps)."""
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        return _next_number(now)
    return None


# ---------------------------------------------------------------------------
# Hand-offs
# ---------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------
# Resolution, callback, closing, reopening
# ---------------------------------------------------------------------------


def _end_open_pause(ticket: Ticket, *, actor: Any, now: dt.datetime) -> TicketPause | None:
    pause = ticket.pauses.filter(ended_at__isnull=True).first()
    if pause is not None:
        pause.ended_at = now
        pause.ended_by = user_of(actor)
        pause.save(update_fields=["ended_at", "ended_by"])
    return pause


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


# ---------------------------------------------------------------------------
# Clock: pauses and extensions
# ---------------------------------------------------------------------------


@transaction.atomic
def ticket_pause(
    *, actor: Any, ticket: Ticket, version: int | None, reason: str, note: str = ""
) -> Ticket:
    """Pause (挂起) the clock for time outside the utility's control (R-CON-2)."""
    ticket = _lock(ticket, version)
    rules.authorize(actor, ticket, "pause")
    if reason not in PauseReason.values:
        raise InvalidInput(_("Choose why the clock is paused."))
    before, from_state, now = _snapshot(ticket), ticket.state, clock.now()
    pause = TicketPause.objects.create(
        ticket=ticket,
        reason=reason,
        note=_clean(note, 200),
        started_at=now,
        started_by=user_of(actor),
    )
    # Paused time never counts: the other budgets' timers stop too (re-armed on resume).
    ticket.response_due = ticket.arrival_due = ticket.restoration_due = None
    _refresh_sla(ticket, now=now)
    return _commit(
        ticket,
        actor=actor,
        action="pause",
        before=before,
        from_state=from_state,
        now=now,
        note=f"{pause.get_reason_display()} {pause.note}".strip(),
        visibility=Visibility.CUSTOMER,
        data={"pause": pause.pk, "reason": reason},
    )


@transaction.atomic
def ticket_resume(*, actor: Any, ticket: Ticket, version: int | None, note: str = "") -> Ticket:
    """Resume the paused clock; the deadline moves by the paused counted time."""
    ticket = _lock(ticket, version)
    rules.authorize(actor, ticket, "resume")
    before, from_state, now = _snapshot(ticket), ticket.state, clock.now()
    pause = _end_open_pause(ticket, actor=actor, now=now)
    if pause is None:
        raise IllegalTransition(
            _("The clock of case %(number)s is not paused.") % {"number": ticket.number},
            ticket=ticket,
        )
    _rearm_timers(ticket, paused=now - pause.started_at)
    _refresh_sla(ticket, now=now)
    return _commit(
        ticket,
        actor=actor,
        action="resume",
        before=before,
        from_state=from_state,
        now=now,
        note=_clean(note),
        visibility=Visibility.CUSTOMER,
        data={"pause": pause.pk},
    )


@transaction.atomic
def ticket_extension_request(
    *, actor: Any, ticket: Ticket, version: int | None, seconds: int, reason: str
) -> TicketExtension:
    """Ask for more time (延期) on the case's clock; a supervisor decides."""
    ticket = _lock(ticket, version)
    rules.authorize(actor, ticket, "extension_request")
    reason = _clean(reason, field="reason")
    if not reason:
        raise InvalidInput(_("Say why more time is needed."))
    if seconds <= 0 or seconds > 366 * 86400:
        raise InvalidInput(_("Ask for a positive extension of at most a year."))
    before, from_state, now = _snapshot(ticket), ticket.state, clock.now()
    extension = TicketExtension.objects.create(
        ticket=ticket, seconds=seconds, reason=reason, requested_by=user_of(actor), requested_at=now
    )
    _commit(
        ticket,
        actor=actor,
        action="extension_request",
        before=before,
        from_state=from_state,
        now=now,
        note=reason,
        data={"extension": extension.pk, "seconds": seconds},
    )
    return extension


@transaction.atomic
def ticket_extension_decide(
    *,
    actor: Any,
    ticket: Ticket,
    version: int | None,
    extension: TicketExtension,
    approve: bool,
    note: str = "",
) -> Ticket:
    """Approve or refuse a pending extension; an approval adds its time to the budget."""
    ticket = _lock(ticket, version)
    rules.authorize(actor, ticket, "extension_decide")
    extension = TicketExtension.objects.select_for_update().get(pk=extension.pk)
    if extension.ticket_id != ticket.pk:
        raise InvalidInput(_("This extension request belongs to another case."))
    if extension.status != TicketExtension.Status.PENDING:
        raise IllegalTransition(_("This extension request was already decided."), ticket=ticket)
    before, from_state, now = _snapshot(ticket), ticket.state, clock.now()
    extension.status = (
        TicketExtension.Status.APPROVED if approve else TicketExtension.Status.REFUSED
    )
    extension.decided_by = user_of(actor)
    extension.decided_at = now
    extension.decision_note = _clean(note)
    extension.save()
    if approve:
        ticket.sla_extension_seconds += extension.seconds
        _refresh_sla(ticket, now=now)
    _commit(
        ticket,
        actor=actor,
        action="extension_approve" if approve else "extension_refuse",
        before=before,
        from_state=from_state,
        now=now,
        note=extension.decision_note,
        data={"extension": extension.pk, "seconds": extension.seconds},
    )
    _tell(
        [extension.requested_by, ticket.owner],
        ticket,
        (
            _("Extension for case %(number)s approved.")
            if approve
            else _("Extension for case %(number)s refused.")
        )
        % {"number": ticket.number},
        key=f"extension:{extension.pk}",
    )
    return ticket


# ---------------------------------------------------------------------------
# Supervision and ownership
# ---------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------
# Time-limit state kept current by the sweep and the calendar
# ---------------------------------------------------------------------------


@transaction.atomic
def ticket_refresh_clock(*, ticket: Ticket) -> Ticket:
    """Recompute one open case's clock (after a calendar edit); no new version."""
    ticket = _lock(ticket, None)
    if ticket.state in OPEN_STATES:
        before = (ticket.resolution_deadline, ticket.warn_at, ticket.sla_state, ticket.calendar_gap)
        _refresh_sla(ticket, now=clock.now())
        after = (ticket.resolution_deadline, ticket.warn_at, ticket.sla_state, ticket.calendar_gap)
        if after != before:
            ticket.save(
                update_fields=[
                    "resolution_deadline",
                    "warn_at",
                    "sla_state",
                    "calendar_gap",
                    "calendar_gap_years",
                    "breached_at",
                ]
            )
    return ticket
