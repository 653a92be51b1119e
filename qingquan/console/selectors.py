"""Console reads: the screen pop, case lists and search, one case's console view, and the
wallboard. Each checks the capability first (`console.use`, `wallboard.view`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q

from qingquan.console.models import Attachment, CaseNote
from qingquan.core import clock
from qingquan.core.access import AccessDenied
from qingquan.core.status import silent_workers
from qingquan.customers import phones, privacy
from qingquan.customers.models import Customer
from qingquan.customers.selectors import CustomerView, customer_lookup
from qingquan.reports.periods import period as report_period
from qingquan.reports.selectors import totals as report_totals
from qingquan.staff.access import can
from qingquan.staff.selectors import on_shift
from qingquan.telephony.health import line_faults
from qingquan.telephony.models import (
    AgentState,
    AgentStatus,
    Call,
    CallbackRequest,
    CallState,
)
from qingquan.telephony.stats import today_figures
from qingquan.tickets import kpis
from qingquan.tickets.models import OPEN_STATES, Contact, SlaState, Ticket
from qingquan.tickets.selectors import active_kinds, case_clock, my_cases

REPEAT_WINDOW = dt.timedelta(days=7)
CASES_PER_CUSTOMER = 8


def _require(user: Any, capability: str = "console.use") -> None:
    if not can(user, capability):
        raise AccessDenied(capability=capability)


# ---------------------------------------------------------------------------
# Screen pop
# ---------------------------------------------------------------------------


@dataclass
class CaseRow:
    ticket: Ticket
    clock: Any


@dataclass
class Pop:
    """Everything the agent sees on answering: who is calling and what they have with us."""

    call: Call | None
    number: str
    number_shown: str
    customers: list[CustomerView]
    cases: dict[int, list[CaseRow]] = field(default_factory=dict)
    contacts_7d: int = 0
    query: str = ""
    # Cases opened from this number without a customer record (unknown callers).
    phone_cases: list[CaseRow] = field(default_factory=list)

    @property
    def known(self) -> bool:
        return bool(self.customers)

    @property
    def entries(self) -> list[tuple[CustomerView, list[CaseRow]]]:
        return [(c, self.cases.get(c.id, [])) for c in self.customers]

    @property
    def repeat_caller(self) -> bool:
        return self.contacts_7d >= 1


def _cases_of(customer_ids: list[int], now: dt.datetime) -> dict[int, list[CaseRow]]:
    result: dict[int, list[CaseRow]] = {pk: [] for pk in customer_ids}
    rows = (
        Ticket.objects.filter(customer_id__in=customer_ids)
        .select_related("kind", "kind__parent")
        .prefetch_related("pauses")
        .order_by("-created_at")[: CASES_PER_CUSTOMER * max(len(customer_ids), 1) * 2]
    )
    for ticket in sorted(
        rows, key=lambda t: (t.state not in OPEN_STATES, -t.created_at.timestamp())
    ):
        bucket = result.setdefault(ticket.customer_id or 0, [])
        if len(bucket) < CASES_PER_CUSTOMER:
            bucket.append(CaseRow(ticket, case_clock(ticket, now=now)))
    return result


def screen_pop(*, user: Any, call: Call | None = None, query: str = "") -> Pop:
    """The caller's customers and accounts (balance, recent bills), open and recent cases with
    their clocks, interruption notices (the lookup's slot), and the repeat-caller count."""
    _require(user)
    now = clock.now()
    number = call.from_number if call is not None else ""
    text = query or number
    customers = customer_lookup(user=user, query=text, limit=5) if text else []
    ids = [c.id for c in customers]
    since = now - REPEAT_WINDOW
    contacts_7d = 0
    digits = phones.try_normalise(number)
    # Cases and contacts hold the E.164 form since the input rules (older rows: the
    # national digits or the number as the phone system gave it).
    numbers = {number} | (set(digits) if digits else set())
    numbers.discard("")
    if numbers or ids:
        scope = Q(from_address__in=numbers) | Q(customer_id__in=ids)
        recent = Contact.objects.filter(scope, started_at__gte=since)
        if call is not None and call.contact_id:
            recent = recent.exclude(pk=call.contact_id)
        contacts_7d = recent.count()
    phone_cases: list[CaseRow] = []
    if numbers and not ids:
        rows = (
            Ticket.objects.filter(caller_phone__in=numbers)
            .select_related("kind", "kind__parent")
            .prefetch_related("pauses")
            .order_by("-created_at")[:CASES_PER_CUSTOMER]
        )
        phone_cases = [CaseRow(t, case_clock(t, now=now)) for t in rows]
    shown = privacy.shown(number, user=user, of=call)
    return Pop(
        call=call,
        number=number,
        number_shown=shown,
        customers=customers,
        cases=_cases_of(ids, now) if ids else {},
        contacts_7d=contacts_7d,
        query=query,
        phone_cases=phone_cases,
    )


def intake_kinds() -> list[dict[str, Any]]:
    """Top-level kinds with their sub-kinds, numbered 1..9 for the keyboard shortcuts."""
    kinds = active_kinds()
    tops = [k for k in kinds if k.parent_id is None]
    return [
        {"key": i, "kind": top, "children": [k for k in kinds if k.parent_id == top.pk]}
        for i, top in enumerate(tops[:9], start=1)
    ]


def customer_for_pop(*, user: Any, customer_id: int) -> Customer:
    _require(user)
    return Customer.objects.get(pk=customer_id)


# ---------------------------------------------------------------------------
# Case lists and search
# ---------------------------------------------------------------------------


def console_cases(user: Any) -> Any:
    """Cases an agent may read in the console: every case (hotline agents answer callers
    about any case); changes still go through tickets' pages and services."""
    _require(user)
    return Ticket.objects.select_related("kind", "kind__parent", "owner", "department", "team")


def mine(user: Any) -> Any:
    _require(user)
    return my_cases(user).select_related("assignee")


def team_queue(user: Any) -> Any:
    """Open cases owned by my team (the agents I share a shift team with)."""
    _require(user)
    if not user.team_id:
        return Ticket.objects.none()
    return (
        console_cases(user)
        .open()
        .filter(owner__team_id=user.team_id)
        .order_by("resolution_deadline", "created_at")
    )


def recent_open(user: Any) -> Any:
    """What the case search shows before anything is typed: the open cases received this
    week (since Monday, local time), newest first."""
    local = clock.now().astimezone(clock.SHANGHAI)
    monday = (local - dt.timedelta(days=local.weekday())).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    return console_cases(user).open().filter(created_at__gte=monday).order_by("-created_at")


def case_search(*, user: Any, text: str) -> Any:
    """Case number, phone, account number, address, or Chinese words in subject/description
    (all words must appear; Chinese needs no spaces: a 2+ character phrase matches)."""
    qs = console_cases(user)
    text = " ".join((text or "").split())
    if not text:
        return qs.none()
    compact = phones.clean_input(text)
    if compact.isdigit() or (compact[:8].isdigit() and "-" in text):
        number = phones.try_normalise(compact)
        digits_q = (
            Q(number__startswith=text)
            | Q(caller_phone__contains=compact)
            | Q(caller_phone=number[0] if number else compact)
            | Q(account__number=compact)
            | Q(customer__phones__national_digits=number[1] if number else compact)
        )
        return qs.filter(digits_q).distinct().order_by("-created_at")
    words_q = Q()
    for word in text.split(" "):
        words_q &= (
            Q(subject__icontains=word)
            | Q(description__icontains=word)
            | Q(address__icontains=word)
            | Q(caller_name__icontains=word)
        )
    return qs.filter(words_q).order_by("-created_at")


@dataclass
class CaseView:
    ticket: Ticket
    clock: Any
    events: list[Any]
    notes: list[CaseNote]
    attachments: list[Attachment]
    contacts: list[Contact]


def case_view(*, user: Any, number: str) -> CaseView:
    """One case as the console shows it (timeline, notes, attachments, contacts)."""
    ticket = console_cases(user).get(number=number)
    return CaseView(
        ticket=ticket,
        clock=case_clock(ticket),
        events=list(ticket.events.select_related("actor")),
        notes=list(ticket.notes.select_related("author")),
        attachments=list(ticket.attachments.select_related("uploaded_by")),
        contacts=list(ticket.contacts.select_related("agent").order_by("-started_at")[:20]),
    )


def attachment_for(*, user: Any, pk: int) -> Attachment:
    _require(user)
    return Attachment.objects.select_related("ticket").get(pk=pk)


# ---------------------------------------------------------------------------
# Wallboard
# ---------------------------------------------------------------------------


@dataclass
class AgentRow:
    user: Any
    status: str
    status_label: str
    since: dt.datetime | None
    call: Call | None
    on_shift: bool


@dataclass
class Wallboard:
    now: dt.datetime
    agents: list[AgentRow]
    counts: dict[str, int]
    waiting: list[Call]
    contacts_by_channel: list[tuple[str, int]]
    cases_by_kind: list[kpis.Figure]
    near_breach: list[Ticket]
    breached_open: int
    closure: kpis.Figure
    on_time: kpis.Figure
    calls: dict[str, Any]
    # Background workers silent for over a minute: webhooks and SLA alerts may be late.
    silent_workers: list[Any] = field(default_factory=list)
    # IVR lines down (their callers go straight to the agents' queue) and callbacks waiting.
    line_faults: list[Any] = field(default_factory=list)
    callbacks_waiting: int = 0


def _today(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    local = now.astimezone(clock.SHANGHAI)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + dt.timedelta(days=1)


def wallboard(*, user: Any) -> Wallboard:
    """The hotline now: agents and states, waiting calls, today's contacts and rates."""
    _require(user, "wallboard.view")
    now = clock.now()
    start, end = _today(now)
    states = {s.user_id: s for s in AgentState.objects.select_related("user", "call")}
    rows: list[AgentRow] = []
    seen: set[int] = set()
    for shift in on_shift(at=now):
        person = shift.assignment.user
        if person.pk in seen or not can(person, "console.use"):
            continue
        seen.add(person.pk)
        state = states.get(person.pk)
        rows.append(_agent_row(person, state, on_shift=True))
    for user_id, state in states.items():
        if user_id not in seen and state.status != AgentStatus.OFFLINE:
            seen.add(user_id)
            rows.append(_agent_row(state.user, state, on_shift=False))
    rows.sort(key=lambda r: (r.status == AgentStatus.OFFLINE, r.user.get_full_name()))
    counts = {value: 0 for value in AgentStatus.values}
    for row in rows:
        counts[row.status] += 1
    waiting = list(Call.objects.waiting().order_by("rang_at"))
    channel_labels = dict(Contact._meta.get_field("channel").choices or [])
    by_channel = [
        (str(channel_labels.get(r["channel"], r["channel"])), r["n"])
        for r in Contact.objects.filter(started_at__gte=start, started_at__lt=end)
        .values("channel")
        .annotate(n=Count("pk"))
        .order_by("-n")
    ]
    open_cases = Ticket.objects.open()
    near = list(
        open_cases.filter(
            Q(sla_state=SlaState.WARNING)
            | Q(sla_state=SlaState.OK, resolution_deadline__lt=now + dt.timedelta(hours=2))
        )
        .select_related("kind", "kind__parent", "owner")
        .order_by("resolution_deadline")[:10]
    )
    today = today_figures(user=user, now=now)  # the statistics' own definitions
    calls = {
        "offered": today.offered,
        "answered": today.answered,
        "abandoned": today.abandoned,
        "abandon_wait": today.abandon_wait,
        "answer_rate": today.answer_rate,
        "asa": today.asa,
        "service_level": today.service_level,
        "ivr_completion": today.ivr_completion,
        "callbacks_requested": today.callbacks_requested,
        "callbacks_made": today.callbacks_made,
        "in_progress": Call.objects.filter(state=CallState.ANSWERED).count(),
        "longest_wait": max((int((now - c.rang_at).total_seconds()) for c in waiting), default=0),
    }
    return Wallboard(
        now=now,
        agents=rows,
        counts=counts,
        waiting=waiting,
        contacts_by_channel=by_channel,
        cases_by_kind=kpis.closure_rate(start=start, end=end, by="kind"),
        near_breach=near,
        breached_open=open_cases.filter(sla_state=SlaState.BREACHED).count(),
        **_rates_today(now),
        calls=calls,
        silent_workers=silent_workers(now=now),
        line_faults=line_faults(now=now),
        callbacks_waiting=CallbackRequest.objects.open().count(),
    )


def _rates_today(now: dt.datetime) -> dict[str, kpis.Figure]:
    """Today's closure and on-time rates from the statistics' own selector, so the
    wallboard, /reports/ and /commitments/ can never disagree."""
    row = report_totals(period=report_period("day", now.astimezone(clock.SHANGHAI).date()))
    return {
        "closure": kpis.Figure(key=None, label="", numerator=row.done, denominator=row.created),
        "on_time": kpis.Figure(key=None, label="", numerator=row.on_time, denominator=row.timed),
    }


def _agent_row(person: Any, state: AgentState | None, *, on_shift: bool) -> AgentRow:
    status = state.status if state else AgentStatus.OFFLINE
    return AgentRow(
        user=person,
        status=status,
        status_label=str(AgentStatus(status).label),
        since=state.since if state else None,
        call=state.call if state and status == AgentStatus.ON_CALL else None,
        on_shift=on_shift,
    )
