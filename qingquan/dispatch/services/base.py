"""Plumbing of the dispatch services: constants and step order, input cleaning, the
job's lock and version (`_bump`), the timeline entry and audit event, the case's own steps,
who may work a job, and releasing crews."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from qingquan.core import clock, validation
from qingquan.core.access import AccessDenied
from qingquan.core.actors import system, user_of
from qingquan.core.audit import audit_record, snapshot
from qingquan.core.db import claims, fastinsert, fastselect
from qingquan.dispatch import live
from qingquan.dispatch.errors import Conflict, InvalidInput, NotFound
from qingquan.dispatch.models import (
    OPEN_JOB_STATES,
    Assignment,
    Crew,
    CrewStatus,
    Job,
    JobKind,
    JobState,
    StepKind,
)
from qingquan.staff.access import can, check

DISPATCH = system("dispatch")  # the actor of the case steps that follow a job's steps
LOCK_NAMESPACE = 0x4A0B  # advisory locks: a case's job numbers
PHOTO_MAX_BYTES = 8 * 1024 * 1024
CLOCK_SKEW = dt.timedelta(minutes=5)  # a phone's clock may run this much ahead

TRACKED = ("state", "priority", "restore_deadline", "version", "closed_valves")

# The crew's steps in order, each from the state it needs to the state it leaves.
STEP_FLOW: dict[str, tuple[str, str]] = {
    StepKind.ACCEPT: (JobState.ASSIGNED, JobState.ACCEPTED),
    StepKind.EN_ROUTE: (JobState.ACCEPTED, JobState.EN_ROUTE),
    StepKind.ARRIVE: (JobState.EN_ROUTE, JobState.ON_SITE),
    StepKind.REPAIRED: (JobState.ON_SITE, JobState.REPAIRED),
    StepKind.RESTORED: (JobState.REPAIRED, JobState.RESTORED),
}
ORDER: list[str] = [
    JobState.NEW,
    JobState.ASSIGNED,
    JobState.ACCEPTED,
    JobState.EN_ROUTE,
    JobState.ON_SITE,
    JobState.REPAIRED,
    JobState.RESTORED,
]
NEXT_STEP = {before: step for step, (before, _after) in STEP_FLOW.items()}

# The case kind a job's kind is read from (tickets' seeded sub-kinds).
KIND_OF_CASE = {
    "repair-burst": JobKind.BURST,
    "repair-leak": JobKind.LEAK,
    "repair-no-water": JobKind.BURST,
    "repair-meter": JobKind.FROZEN_METER,
}


def _clean(text: str | None, *, field: str = "note", limit: int = validation.TEXT) -> str:
    try:
        return validation.clean_text(text, field=field, max_length=limit)
    except ValidationError as error:
        raise InvalidInput(error.messages[0], field=field) from None


def _event(
    job: Job, *, actor: Any, action: str, at: dt.datetime, note: str = "", **data: Any
) -> None:
    """The step on the case's timeline (a `TicketEvent`, whose receivers count it and send
    the partners' webhooks in this transaction)."""
    from qingquan.tickets.models import TicketEvent

    ticket = job.ticket
    event = TicketEvent(
        ticket=ticket,
        at=at,
        actor=user_of(actor),
        action=action,
        from_state=ticket.state,
        to_state=ticket.state,
        note=note,
        data={"job": job.number, **data},
    )
    # The case's own steps that follow (arrived, resolved) go through the tickets
    # services; this entry alone changes nothing the KPIs count.
    event.leaves_case_unchanged = True
    # A precompiled INSERT (core.db.fastinsert) with the signals `save()` sends: a crew's
    # step writes this row inside the one writer's turn on SQLite.
    fastinsert.create(event, signals=True)


def _audit(
    job: Job, *, actor: Any, action: str, before: dict[str, Any] | None, note: str = ""
) -> None:
    audit_record(
        actor=actor,
        action=f"dispatch.{action}",
        obj=job,
        before=before,
        after=snapshot(job, TRACKED),
        note=note,
    )
    live.board_changed(change=action, job=job.number, state=job.state)


def _lock(job: Job | int, *, whole_case: bool = True) -> Job:
    """The job, locked for this transaction, with its case and district. `whole_case`
    False (a crew's step): read with precompiled statements (`core.db.fastselect`), as the
    step takes the one writer's turn on SQLite while it reads; compiling the joined query
    with its deferred case columns cost more than all the step's writes."""
    pk = job if isinstance(job, int) else job.pk
    if not whole_case:
        return _lock_for_step(pk)
    qs = Job.objects.select_for_update(of=("self",)).select_related("ticket", "district")
    try:
        return qs.get(pk=pk)  # not first(): no ORDER BY to compile for one row
    except Job.DoesNotExist:
        raise NotFound(_("This repair job does not exist.")) from None


def _lock_for_step(pk: int) -> Job:
    from qingquan.areas.models import District
    from qingquan.tickets.models import Ticket

    found = fastselect.rows(Job, lock=True, id=pk)
    if not found:
        raise NotFound(_("This repair job does not exist."))
    job: Job = found[0]
    job.ticket = fastselect.rows(Ticket, id=job.ticket_id)[0]
    job.district = fastselect.rows(District, id=job.district_id)[0] if job.district_id else None
    return job


def _bump(job: Job, version: int | None) -> None:
    """Raise the job's version if it is still `version` (None: whatever it is now), in one
    UPDATE that exactly one of two simultaneous callers wins; the loser gets `Conflict`
    with the job as it is now."""
    due, params = "id = %s", [job.pk]
    if version is not None:
        due, params = "id = %s AND version = %s", [job.pk, version]
    for _attempt in range(2):
        taken = claims.claim_by_update(
            Job._meta.db_table, assign="version = version + 1", due=due, params=params, limit=1
        )
        if taken:
            return
        # Not taken: changed, or held by a transaction that has not committed yet
        # (PostgreSQL skips a locked row). Wait for that one, then read the job as it is.
        current = Job.objects.select_for_update().select_related("ticket").get(pk=job.pk)
        if version is None or current.version == version:
            continue  # it was only locked (the holder rolled back, or no version given)
        break
    else:
        current = Job.objects.select_related("ticket").get(pk=job.pk)
    crews = ", ".join(
        str(a.crew) for a in current.assignments.filter(ended_at=None).select_related("crew__team")
    )
    raise Conflict(
        _(
            "Job %(number)s was changed by someone else (you read version %(read)s, it is "
            "now version %(now)s: %(state)s%(crews)s). Reload it and try again."
        )
        % {
            "number": current.number,
            "read": version,
            "now": current.version,
            "state": current.get_state_display(),
            "crews": _("; crews: %(c)s") % {"c": crews} if crews else "",
        },
        job=current,
    )


def _deadlines(job: Job) -> None:
    arrive, restore = job.clocks(now=clock.now(), pauses=list(job.pauses.all()) if job.pk else [])
    assert arrive.deadline is not None
    job.arrive_deadline = arrive.deadline
    job.restore_deadline = restore.deadline


def _case_step(step: str, ticket: Any, **kwargs: Any) -> None:
    """Take the matching step on the case when its rules allow it now (the system acts:
    the dispatcher's or crew's own step is in the audit log under dispatch)."""
    from qingquan.tickets import rules
    from qingquan.tickets import services as tickets

    # Afresh and whole: the job's copy may be partial (`_lock(whole_case=False)`).
    ticket = type(ticket).objects.get(pk=ticket.pk)
    if rules.refusal(DISPATCH, ticket, step) is not None:
        return
    getattr(tickets, f"ticket_{step}")(actor=DISPATCH, ticket=ticket, version=None, **kwargs)


def _release(crew: Crew, *, now: dt.datetime) -> None:
    """A crew with no other open job is available again."""
    busy = Assignment.objects.filter(
        crew=crew, ended_at=None, job__state__in=OPEN_JOB_STATES
    ).exists()
    if not busy and crew.status in (CrewStatus.EN_ROUTE, CrewStatus.ON_SITE):
        Crew.objects.filter(pk=crew.pk).update(status=CrewStatus.AVAILABLE)


def _end_assignments(job: Job, *, now: dt.datetime, reason: str) -> None:
    crews = list(Crew.objects.filter(assignments__job=job, assignments__ended_at=None))
    job.assignments.filter(ended_at=None).update(ended_at=now, end_reason=reason)
    for crew in crews:
        _release(crew, now=now)


def _crew_of(actor: Any, job: Job) -> Crew | None:
    """The actor's crew among those on the job (None for a dispatcher acting for them)."""
    user = user_of(actor)
    if user is None or not user.team_id:
        return None
    found = Crew.objects.select_related("team").filter(
        team_id=user.team_id, assignments__job=job, assignments__ended_at=None
    )
    return next(iter(found.order_by()[:1]), None)  # any one: no ORDER BY to compile


def _may_work(actor: Any, job: Job) -> Crew | None:
    """Crew members of a crew on the job, or dispatchers, may take its steps."""
    if can(actor, "dispatch.manage"):
        return _crew_of(actor, job)
    check(actor, "dispatch.crew")
    crew = _crew_of(actor, job)
    if crew is None:
        raise AccessDenied(_("Your crew is not on job %(number)s.") % {"number": job.number})
    return crew
