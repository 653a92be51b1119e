"""Jobs: made from a case or incident, crews sent and changed (the version claim in
`_bump`), the restoration clock paused and resumed, jobs cancelled."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from qingquan.core import clock
from qingquan.core.actors import user_of
from qingquan.core.audit import snapshot
from qingquan.core.db.locks import hold_until_commit
from qingquan.dispatch.errors import Conflict, InvalidInput, OutOfOrder
from qingquan.dispatch.models import (
    Assignment,
    Crew,
    CrewStatus,
    Job,
    JobKind,
    JobPause,
    JobState,
    PauseReason,
)
from qingquan.dispatch.services.base import (
    LOCK_NAMESPACE,
    TRACKED,
    _audit,
    _bump,
    _case_step,
    _clean,
    _deadlines,
    _end_assignments,
    _event,
    _lock,
    _may_work,
    _release,
)
from qingquan.dispatch.services.crews import (
    _message,
)
from qingquan.dispatch.services.places import (
    _kind_of,
    _place,
    policy_for,
)
from qingquan.staff.access import check


@transaction.atomic
def job_create(
    *,
    actor: Any,
    ticket: Any,
    kind: str | None = None,
    pipe: str | None = None,
    lon: float | None = None,
    lat: float | None = None,
    priority: str | None = None,
    note: str = "",
) -> Job:
    """A repair job for a case, or for the incident it was merged into: located at the
    given pipe or point, else at the case's premise; with the pipe, segment and isolation
    plan from the network; budgets from the repair policy of its kind and pipe diameter."""
    check(actor, "dispatch.manage")
    from qingquan.tickets.models import Ticket

    ticket = Ticket.objects.select_related("kind", "premise", "account__premise", "parent").get(
        pk=ticket.pk
    )
    if ticket.parent_id is not None:
        ticket = ticket.parent
    if not ticket.is_open:
        raise InvalidInput(
            _("Case %(number)s is %(state)s: no new repair job for it.")
            % {"number": ticket.number, "state": ticket.get_state_display()}
        )
    if kind is not None and kind not in JobKind.values:
        raise InvalidInput(_("Unknown kind of repair %(kind)s.") % {"kind": kind}, field="kind")
    if priority is not None and priority not in ("normal", "high", "urgent"):
        raise InvalidInput(_("Unknown priority %(p)s.") % {"p": priority}, field="priority")
    note = _clean(note)
    place = _place(actor, ticket=ticket, pipe=pipe, lon=lon, lat=lat)
    kind = kind or _kind_of(ticket)
    policy = policy_for(kind, place.diameter_mm)
    hold_until_commit(LOCK_NAMESPACE, ticket.number)
    n = Job.objects.filter(ticket=ticket).count() + 1
    now = clock.now()
    job = Job(
        number=f"{ticket.number}-{n}",
        ticket=ticket,
        kind=kind,
        priority=priority or policy.priority,
        address=ticket.address,
        district_id=ticket.district_id,
        longitude=place.lon,
        latitude=place.lat,
        pipe=place.pipe,
        pipe_eid=place.pipe_eid,
        diameter_mm=place.diameter_mm,
        segment=place.segment,
        valves=place.valves or [],
        affected_premises=place.premises,
        policy_name=policy.name,
        arrive_seconds=policy.arrive_seconds,
        restore_seconds=policy.restore_seconds,
        warn_fraction=policy.warn_fraction,
        created_at=now,
        created_by=user_of(actor),
        note=note,
    )
    _deadlines(job)
    job.save()
    _event(
        job,
        actor=actor,
        action="job_create",
        at=now,
        note=note,
        policy=policy.name,
        pipe=place.pipe_eid,
        arrive_by=job.arrive_deadline.isoformat(),
        restore_by=job.restore_deadline.isoformat() if job.restore_deadline else None,
    )
    _audit(job, actor=actor, action="job.create", before=None, note=note)
    return job


@transaction.atomic
def job_assign(*, actor: Any, job: Job, crew: Crew, version: int | None, add: bool = False) -> Job:
    """Send `crew` to `job` (one click). `add=True` sends another crew to a big job that
    has one already; without it, a job that already has a crew is refused (reassign). Two
    dispatchers at once: one wins, the other gets `Conflict` with the job as it is now."""
    check(actor, "dispatch.manage")
    if not job.is_open:
        raise OutOfOrder(_("Job %(number)s is finished.") % {"number": job.number}, job=job)
    _bump(job, version)
    job = _lock(job)
    active = list(job.assignments.filter(ended_at=None).select_related("crew__team"))
    if any(a.crew_id == crew.pk for a in active):
        raise Conflict(
            _("%(crew)s is already on job %(number)s.") % {"crew": crew, "number": job.number},
            job=job,
        )
    if active and not add:
        raise Conflict(
            _("Job %(number)s already has a crew (%(crews)s): add a crew or reassign.")
            % {"number": job.number, "crews": ", ".join(str(a.crew) for a in active)},
            job=job,
        )
    if crew.status == CrewStatus.OFF_DUTY:
        raise InvalidInput(_("%(crew)s is off duty.") % {"crew": crew}, field="crew")
    before = snapshot(job, TRACKED)
    now = clock.now()
    Assignment.objects.create(job=job, crew=crew, assigned_at=now, assigned_by=user_of(actor))
    if job.state == JobState.NEW:
        job.state = JobState.ASSIGNED
    job.save()
    _message(job, crew, now=now)
    _event(job, actor=actor, action="job_assign", at=now, crew=crew.team.code, added=add)
    _audit(job, actor=actor, action="job.assign", before=before, note=str(crew))
    if not active:
        _case_step("dispatch", job.ticket, team=crew.team, note=job.number)
    return job


@transaction.atomic
def job_reassign(
    *, actor: Any, job: Job, version: int | None, old: Crew, new: Crew, reason: str
) -> Job:
    """Take `old` off `job` and send `new` instead, with a reason (kept on the assignment,
    the timeline and the audit log)."""
    check(actor, "dispatch.manage")
    reason = _clean(reason, field="reason", limit=200)
    if not reason:
        raise InvalidInput(_("Say why the crew is changed."), field="reason")
    if not job.is_open:
        raise OutOfOrder(_("Job %(number)s is finished.") % {"number": job.number}, job=job)
    if old.pk == new.pk:
        raise InvalidInput(_("Choose another crew."), field="crew")
    _bump(job, version)
    job = _lock(job)
    current = job.assignments.filter(ended_at=None, crew=old).first()
    if current is None:
        raise Conflict(
            _("%(crew)s is not on job %(number)s.") % {"crew": old, "number": job.number}, job=job
        )
    if job.assignments.filter(ended_at=None, crew=new).exists():
        raise Conflict(
            _("%(crew)s is already on job %(number)s.") % {"crew": new, "number": job.number},
            job=job,
        )
    if new.status == CrewStatus.OFF_DUTY:
        raise InvalidInput(_("%(crew)s is off duty.") % {"crew": new}, field="crew")
    before = snapshot(job, TRACKED)
    now = clock.now()
    current.ended_at, current.end_reason = now, reason
    current.save(update_fields=["ended_at", "end_reason"])
    Assignment.objects.create(job=job, crew=new, assigned_at=now, assigned_by=user_of(actor))
    _release(old, now=now)
    job.save()
    _message(job, new, now=now)
    _event(
        job,
        actor=actor,
        action="job_reassign",
        at=now,
        note=reason,
        crew=new.team.code,
        previous=old.team.code,
    )
    _audit(job, actor=actor, action="job.reassign", before=before, note=reason)
    from qingquan.tickets.models import TicketState

    ticket = job.ticket
    ticket.refresh_from_db()
    if ticket.team_id == old.team_id and ticket.state in (
        TicketState.DISPATCHED,
        TicketState.IN_PROGRESS,
    ):
        _case_step("transfer", ticket, team=new.team, note=reason)
    return job


@transaction.atomic
def job_pause(*, actor: Any, job: Job, version: int | None, reason: str, note: str = "") -> Job:
    """Pause the job's restoration clock (waiting for a road permit, for the customer)."""
    _may_work(actor, job)
    if reason not in PauseReason.values:
        raise InvalidInput(_("Choose why the clock waits."), field="reason")
    note = _clean(note, limit=200)
    if reason == PauseReason.OTHER and not note:
        raise InvalidInput(_("Say what the job waits for."), field="note")
    _bump(job, version)
    job = _lock(job)
    if not job.is_open or job.state == JobState.NEW:
        raise OutOfOrder(_("Only a job a crew works on can wait."), job=job)
    if job.pauses.filter(ended_at=None).exists():
        raise OutOfOrder(
            _("The restoration clock of job %(number)s is already paused.")
            % {"number": job.number},
            job=job,
        )
    before = snapshot(job, TRACKED)
    now = clock.now()
    JobPause.objects.create(
        job=job, reason=reason, note=note, started_at=now, started_by=user_of(actor)
    )
    _deadlines(job)
    job.save()
    label = str(PauseReason(reason).label)
    _event(
        job, actor=actor, action="job_pause", at=now, note=f"{label} {note}".strip(), reason=reason
    )
    _audit(job, actor=actor, action="job.pause", before=before, note=label)
    return job


@transaction.atomic
def job_resume(*, actor: Any, job: Job, version: int | None) -> Job:
    """Restart the restoration clock; its deadline moves by the time it waited."""
    _may_work(actor, job)
    _bump(job, version)
    job = _lock(job)
    pause = job.pauses.filter(ended_at=None).first()
    if pause is None:
        raise OutOfOrder(
            _("The restoration clock of job %(number)s is not paused.") % {"number": job.number},
            job=job,
        )
    before = snapshot(job, TRACKED)
    now = clock.now()
    pause.ended_at = now
    pause.save(update_fields=["ended_at"])
    _deadlines(job)
    job.save()
    _event(job, actor=actor, action="job_resume", at=now)
    _audit(job, actor=actor, action="job.resume", before=before)
    return job


@transaction.atomic
def job_cancel(*, actor: Any, job: Job, version: int | None, reason: str) -> Job:
    """Cancel a job made by mistake (with a reason); its crews are released."""
    check(actor, "dispatch.manage")
    reason = _clean(reason, field="reason", limit=200)
    if not reason:
        raise InvalidInput(_("Say why the job is cancelled."), field="reason")
    _bump(job, version)
    job = _lock(job)
    if not job.is_open:
        raise OutOfOrder(_("Job %(number)s is finished.") % {"number": job.number}, job=job)
    before = snapshot(job, TRACKED)
    now = clock.now()
    job.state = JobState.CANCELLED
    job.save()
    _end_assignments(job, now=now, reason=reason)
    _event(job, actor=actor, action="job_cancel", at=now, note=reason)
    _audit(job, actor=actor, action="job.cancel", before=before, note=reason)
    return job
