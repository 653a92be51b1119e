"""Background work for cases: time-limit warnings and breaches, calendar-gap alarms.

Tasks take ids and are safe to run twice (notifications carry de-duplication keys).
`sla_sweep` runs every minute and catches every threshold crossed since the last run,
including while the platform was down; it works on indexed columns only, set by set.
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext as _
from django_tasks import task

from qingquan.core import clock
from qingquan.core.db import claims
from qingquan.core.models import Notification
from qingquan.core.notifications import notify, push_to_user
from qingquan.core.periodic import every
from qingquan.staff.access import CAPABILITIES
from qingquan.staff.models import User
from qingquan.tickets import signals
from qingquan.tickets.models import OPEN_STATES, SlaState, Ticket

SWEEP_BATCH = 20_000  # cases flagged per statement and transaction
ALERT_BATCH = 1000  # cases per alert task


# The budgets the sweep watches besides the resolution clock (whose warning and breach
# live in `sla_state`): each has a timer column (armed while the budget can still be
# missed), a breach stamp, and the deadline it stands for.
TIMERS: dict[str, tuple[str, str]] = {
    "response": ("response_due", "response_breached_at"),
    "arrival": ("arrival_due", "arrival_breached_at"),
    "restoration": ("restoration_due", "restoration_breached_at"),
}
KINDS = ("warning", "breached", *TIMERS)


def _supervisors(at: dt.datetime | None = None) -> list[User]:
    """The supervisors on shift (every supervisor if nobody is rostered)."""
    from qingquan.staff.selectors import on_shift

    roles = CAPABILITIES["tickets.sla_alerts"]
    supervisors = [s.assignment.user for s in on_shift(at=at) if s.assignment.user.role in roles]
    if not supervisors:
        supervisors = list(User.objects.filter(is_active=True, role__in=roles))
    return supervisors


def alert_recipients(
    ticket: Ticket, *, at: dt.datetime | None = None, supervisors: list[User] | None = None
) -> list[User]:
    """The owner plus the supervisors on shift (every supervisor if nobody is rostered)."""
    if supervisors is None:
        supervisors = _supervisors(at)
    people: dict[int, User] = {ticket.owner_id: ticket.owner}
    for person in supervisors:
        people.setdefault(person.pk, person)
    return [p for p in people.values() if p.is_active]


def _alert_text(ticket: Ticket, kind: str) -> tuple[str, str, str] | None:
    """(title, level, de-duplication key) of the alert `kind` for `ticket`, or None when
    the case no longer warrants it."""
    if ticket.state not in OPEN_STATES:
        return None
    if kind in TIMERS:
        _timer, stamp = TIMERS[kind]
        deadline = getattr(ticket, stamp)
        if deadline is None:
            return None
        titles = {
            "response": _("Case %(number)s was not answered in time (deadline %(deadline)s)"),
            "arrival": _("No crew on site for case %(number)s (arrival deadline %(deadline)s)"),
            "restoration": _(
                "Supply not restored for case %(number)s (restoration deadline %(deadline)s)"
            ),
        }
        title, level = titles[kind], "alert"
    else:
        deadline = ticket.resolution_deadline
        if deadline is None:
            return None
        if kind == SlaState.WARNING and ticket.sla_state not in (
            SlaState.WARNING,
            SlaState.BREACHED,
        ):
            return None
        if kind == SlaState.BREACHED and ticket.sla_state != SlaState.BREACHED:
            return None
        if kind == SlaState.BREACHED:
            title, level = _("Case %(number)s is overdue (deadline %(deadline)s)"), "alert"
        else:
            title = _("Case %(number)s is close to its deadline (%(deadline)s)")
            level = "warning"
    local = deadline.astimezone(clock.SHANGHAI)
    title = title % {"number": ticket.number, "deadline": f"{local:%Y-%m-%d %H:%M}"}
    # One notice per case, threshold and deadline: a moved deadline warns again.
    return title, level, f"t{ticket.pk}:sla:{kind}:{int(local.timestamp())}"


def _send_alerts(tickets: list[Ticket], kind: str, *, supervisors: list[User]) -> int:
    """The alerts for `tickets` to their owners and `supervisors` (read once per run by
    the caller), stored in bulk and pushed once committed; returns how many were stored
    (notices already sent, by de-duplication key, are skipped)."""
    from django.urls import reverse

    wanted: list[Notification] = []
    now = clock.now()
    for ticket in tickets:
        text = _alert_text(ticket, kind)
        if text is None:
            continue
        title, level, key = text
        link = reverse("tickets:detail", args=[ticket.number])
        for person in alert_recipients(ticket, supervisors=supervisors):
            wanted.append(
                Notification(
                    recipient=person,
                    created_at=now,
                    level=level,
                    title=title[:200],
                    body=ticket.subject,
                    link=link,
                    dedupe_key=key,
                )
            )
    if not wanted:
        return 0
    keys = {n.dedupe_key for n in wanted}
    sent = set(
        Notification.objects.filter(dedupe_key__in=keys).values_list("recipient_id", "dedupe_key")
    )
    fresh: dict[tuple[int, str], Notification] = {}
    for note in wanted:
        fresh.setdefault((note.recipient_id, note.dedupe_key), note)
    rows = [n for k, n in fresh.items() if k not in sent]
    try:
        with transaction.atomic():
            created = Notification.objects.bulk_create(rows, batch_size=1000)
    except IntegrityError:  # a concurrent run stored some of them: one by one
        return sum(
            1
            for n in rows
            if notify(
                recipient=n.recipient,
                title=n.title,
                body=n.body,
                link=n.link,
                level=n.level,
                dedupe_key=n.dedupe_key,
            )
        )
    events = [
        (
            n.recipient_id,
            {
                "kind": "notification",
                "id": n.pk,
                "level": n.level,
                "title": n.title,
                "body": n.body,
                "link": n.link,
            },
        )
        for n in created
    ]

    def push() -> None:
        for user_id, event in events:
            push_to_user(user_id=user_id, event=event)

    transaction.on_commit(push, robust=True)
    return len(created)


@task()
def sla_alerts(ticket_ids: list[int], kind: str) -> int:
    """Send the alerts of one kind (see KINDS) for these cases; returns notices sent."""
    supervisors = _supervisors()
    sent = 0
    for start in range(0, len(ticket_ids), ALERT_BATCH):
        chunk = ticket_ids[start : start + ALERT_BATCH]
        tickets = list(Ticket.objects.filter(pk__in=chunk).select_related("owner"))
        sent += _send_alerts(tickets, kind, supervisors=supervisors)
    return sent


CLAIMS: dict[str, tuple[str, str, str]] = {
    # kind: (assignments, condition, order); each condition is one index range (sla_state
    # and deadline, or a timer's partial index, whose order also keeps the planner on the
    # index when statistics are stale). Timers need no state condition: the services
    # disarm them when the budget is met or the case is resolved.
    "breached": (
        "sla_state = 'breached', breached_at = COALESCE(breached_at, resolution_deadline)",
        "sla_state IN ('ok', 'warning') AND resolution_deadline < %s",
        "",
    ),
    "warning": ("sla_state = 'warning'", "sla_state = 'ok' AND warn_at <= %s", "warn_at"),
    **{
        kind: (f"{timer} = NULL, {stamp} = {timer}", f"{timer} <= %s", timer)
        for kind, (timer, stamp) in TIMERS.items()
    },
}


def _claim(kind: str, *, now: dt.datetime) -> list[int]:
    """Flag one chunk of cases due for `kind` and queue their alerts; their ids.

    The chunk is claimed by the UPDATE that flags it (`core.db.claims`): the condition is
    checked again on the row being updated, and PostgreSQL skips rows another sweep has
    locked, so of two sweeps at once each case goes to exactly one."""
    assign, due, order = CLAIMS[kind]
    with transaction.atomic():
        ids = claims.claim_by_update(
            Ticket._meta.db_table,
            assign=assign,
            due=due,
            params=[now],
            limit=SWEEP_BATCH,
            order=order,
        )
        if kind == "breached" and ids:
            signals.cases_breached.send(sender=Ticket, ticket_ids=ids)
        # The alert tasks are queued in the flagging transaction (the task queue is a table
        # of the same database): a crash right after the commit cannot flag cases silently.
        for start in range(0, len(ids), ALERT_BATCH):
            sla_alerts.enqueue(ticket_ids=ids[start : start + ALERT_BATCH], kind=kind)
    return ids


def sweep(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Flag every case past its warning instant or a deadline (resolution, response,
    arrival, restoration); returns counts per kind. Each chunk is one transaction, so a
    long catch-up after downtime keeps what it did if it is interrupted."""
    now = now or clock.now()
    counts = dict.fromkeys(KINDS, 0)
    # Breaches first, so a case past both thresholds is told it is overdue only.
    for kind in ("breached", "warning", *TIMERS):
        while batch := _claim(kind, now=now):
            counts[kind] += len(batch)
            if len(batch) < SWEEP_BATCH:
                break
    return counts


@every(60)
@task()
def sla_sweep() -> dict[str, int]:
    """Every minute: warnings and breaches due since the last run."""
    return sweep()


@task()
def calendar_gap_alert(ticket_id: int, years: list[int]) -> int:
    """Tell the administrators that a case's clock reached a year without a calendar."""
    ticket = Ticket.objects.filter(pk=ticket_id).first()
    if ticket is None:
        return 0
    sent = 0
    admins = User.objects.filter(is_active=True, role__in=CAPABILITIES["calendar.manage"])
    for year in years:
        for admin in admins:
            if notify(
                recipient=admin,
                title=_(
                    "The working-day calendar has no data for %(year)s: case deadlines "
                    "(first %(number)s) are provisional. Enter the official schedule."
                )
                % {"year": year, "number": ticket.number},
                link="/admin/core/calendarday/",
                level="alert",
                dedupe_key=f"calendar-gap:{year}",
            ):
                sent += 1
    return sent


@every(3600)
@task()
def refresh_provisional_clocks() -> int:
    """Hourly: recompute cases whose deadline was provisional (the calendar may now hold
    the missing year); returns how many were recomputed."""
    from qingquan.tickets.services import ticket_refresh_clock

    ids = list(
        Ticket.objects.filter(Q(calendar_gap=True), state__in=OPEN_STATES).values_list(
            "pk", flat=True
        )
    )
    for pk in ids:
        ticket_refresh_clock(ticket=Ticket(pk=pk))
    return len(ids)
