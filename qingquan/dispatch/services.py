"""Every write of repair dispatch: keyword-only, typed, one transaction each, an audit
event and the case's timeline entry in that transaction; messages to crews' phones are
outbox rows (`CrewMessage`, `core.outbox`) written there too.

Jobs are made from a case or an incident (`job_create`), crews are sent (`job_assign`,
several crews for one big job with `add=True`; `job_reassign` with a reason), the
restoration clock waits for a road permit or the customer (`job_pause`, `job_resume`), and
the crew app's steps are recorded by `step_record` (idempotent by the phone's step id) or
`steps_replay` (the offline queue, applied in the steps' original order).

Two dispatchers assigning one job at once: each sends the job's version it read; the
version is raised by one `UPDATE … WHERE id = … AND version = …` (`core.db.claims.
claim_by_update`), which exactly one of them wins; the other gets `Conflict` with the job
as it is now. The case itself follows through the tickets services (dispatched to the
crew's team, the crew's arrival, resolved when supply is restored: the incident's merged
cases are resolved with it and the follow-up callbacks start as in any resolution).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext as _

from qingquan.core import clock, outbox, validation
from qingquan.core.access import AccessDenied
from qingquan.core.actors import system, user_of
from qingquan.core.audit import audit_record, snapshot
from qingquan.core.db import claims
from qingquan.core.db.locks import hold_until_commit
from qingquan.dispatch.errors import Conflict, InvalidInput, NotFound, OutOfOrder
from qingquan.dispatch.models import (
    OPEN_JOB_STATES,
    Assignment,
    Crew,
    CrewMessage,
    CrewStatus,
    Job,
    JobKind,
    JobPause,
    JobState,
    JobStep,
    PauseReason,
    Referral,
    ReferralPartner,
    RepairPolicy,
    StepKind,
    crew_members,
)
from qingquan.staff.access import can, check

logger = logging.getLogger(__name__)

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


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


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
    TicketEvent.objects.create(
        ticket=ticket,
        at=at,
        actor=user_of(actor),
        action=action,
        from_state=ticket.state,
        to_state=ticket.state,
        note=note,
        data={"job": job.number, **data},
    )


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


def _lock(job: Job | int) -> Job:
    pk = job if isinstance(job, int) else job.pk
    locked = (
        Job.objects.select_for_update(of=("self",)).select_related("ticket").filter(pk=pk).first()
    )
    if locked is None:
        raise NotFound(_("This repair job does not exist."))
    return locked


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


def policy_for(kind: str, diameter_mm: float) -> RepairPolicy:
    """The policy of `kind` with the largest minimum diameter not above `diameter_mm` (the
    kind "other"'s when the kind has none)."""
    for k in (kind, JobKind.OTHER):
        found = (
            RepairPolicy.objects.filter(kind=k, min_diameter_mm__lte=max(diameter_mm, 0))
            .order_by("-min_diameter_mm")
            .first()
        )
        if found is not None:
            return found
    raise InvalidInput(_("No repair time policy applies: add one in the management screens."))


def _premise_point(ticket: Any) -> tuple[float, float] | None:
    for premise in (ticket.premise, ticket.account.premise if ticket.account_id else None):
        if premise is not None and premise.longitude is not None and premise.latitude is not None:
            return premise.longitude, premise.latitude
    return None


@dataclass
class Place:
    lon: float
    lat: float
    pipe: Any = None
    pipe_eid: str = ""
    diameter_mm: float = 0.0
    segment: int | None = None
    valves: list[dict[str, Any]] | None = None
    premises: int = 0


def _place(
    actor: Any, *, ticket: Any, pipe: str | None, lon: float | None, lat: float | None
) -> Place:
    """Where the job is: an explicit pipe or point, else the case's premise; with the pipe,
    segment and isolation plan when a network is loaded and a pipe is near."""
    from qingquan.network import selectors as network
    from qingquan.network.models import Pipe

    if pipe is None and (lon is None or lat is None):
        point = _premise_point(ticket)
        if point is None:
            raise InvalidInput(
                _(
                    "Case %(number)s has no location (no premise with coordinates): give a point "
                    "or a pipe."
                )
                % {"number": ticket.number},
                field="location",
            )
        lon, lat = point
    if lon is not None and not (-180 <= lon <= 180 and -90 <= (lat or 0) <= 90):
        raise InvalidInput(_("The point is outside the map."), field="location")
    try:
        plan = network.isolation_plan(user=DISPATCH, pipe=pipe, lon=lon, lat=lat, counts=True)
    except network.NotFound as missing:
        if pipe is not None:
            raise InvalidInput(missing.message, field="pipe") from None
        assert lon is not None and lat is not None
        return Place(lon=lon, lat=lat)
    except network.TooFar:
        assert lon is not None and lat is not None
        return Place(lon=lon, lat=lat)
    g = plan.graph
    index = g.pipe_index[plan.pipe]
    if lon is None or lat is None:
        s, e = int(g.pipe_start[index]), int(g.pipe_end[index])
        lon = float((g.node_lon[s] + g.node_lon[e]) / 2)
        lat = float((g.node_lat[s] + g.node_lat[e]) / 2)
    valves = [
        {"eid": v.eid, "lon": v.lon, "lat": v.lat, "pipe": v.pipe_eid} for v in plan.valves_to_close
    ]
    return Place(
        lon=lon,
        lat=lat,
        pipe=Pipe.objects.filter(eid=plan.pipe).first(),
        pipe_eid=plan.pipe,
        diameter_mm=plan.pipe_diameter_mm,
        segment=plan.isolation.segment,
        valves=valves,
        premises=plan.premises,
    )


def _kind_of(ticket: Any) -> str:
    return KIND_OF_CASE.get(ticket.kind.code, JobKind.OTHER)


def _case_step(step: str, ticket: Any, **kwargs: Any) -> None:
    """Take the matching step on the case when its rules allow it now (the system acts:
    the dispatcher's or crew's own step is in the audit log under dispatch)."""
    from qingquan.tickets import rules
    from qingquan.tickets import services as tickets

    ticket.refresh_from_db()
    if rules.refusal(DISPATCH, ticket, step) is not None:
        return
    getattr(tickets, f"ticket_{step}")(actor=DISPATCH, ticket=ticket, version=None, **kwargs)


def _message(job: Job, crew: Crew, *, now: dt.datetime) -> int:
    """Outbox rows: a text to each member of `crew` about `job`."""
    text = _("Repair job %(number)s: %(kind)s, %(address)s. Open the crew app.") % {
        "number": job.number,
        "kind": job.get_kind_display(),
        "address": job.address or f"{job.latitude:.5f},{job.longitude:.5f}",
    }
    rows = [
        CrewMessage(recipient=m, job=job, text=text[:300], created_at=now, next_attempt_at=now)
        for m in crew_members(crew)
    ]
    CrewMessage.objects.bulk_create(rows)
    if rows:
        outbox.wake_on_commit()
    return len(rows)


def crew_messages_send(pks: list[int], *, worker: str, now: dt.datetime) -> int:
    """The outbox's `send`: the demo gateway logs each text (a real SMS gateway is a
    setting for production) and records it delivered while it is still `worker`'s claim."""
    rows = list(
        CrewMessage.objects.filter(pk__in=pks, claimed_by=worker).select_related("recipient")
    )
    for row in rows:
        logger.info("crew message to %s: %s", row.recipient.username, row.text)
    return CrewMessage.objects.filter(pk__in=[r.pk for r in rows], claimed_by=worker).update(
        status=CrewMessage.Status.DELIVERED,
        sent_at=now,
        attempts=1,
        claimed_by="",
        lease_until=None,
    )


# ---------------------------------------------------------------------------
# Jobs
# ---------------------------------------------------------------------------


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


def _release(crew: Crew, *, now: dt.datetime) -> None:
    """A crew with no other open job is available again."""
    busy = Assignment.objects.filter(
        crew=crew, ended_at=None, job__state__in=OPEN_JOB_STATES
    ).exists()
    if not busy and crew.status in (CrewStatus.EN_ROUTE, CrewStatus.ON_SITE):
        Crew.objects.filter(pk=crew.pk).update(status=CrewStatus.AVAILABLE)


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


def _end_assignments(job: Job, *, now: dt.datetime, reason: str) -> None:
    crews = list(Crew.objects.filter(assignments__job=job, assignments__ended_at=None))
    job.assignments.filter(ended_at=None).update(ended_at=now, end_reason=reason)
    for crew in crews:
        _release(crew, now=now)


# ---------------------------------------------------------------------------
# Crew steps
# ---------------------------------------------------------------------------


def _crew_of(actor: Any, job: Job) -> Crew | None:
    """The actor's crew among those on the job (None for a dispatcher acting for them)."""
    user = user_of(actor)
    if user is None or not user.team_id:
        return None
    return Crew.objects.filter(
        team_id=user.team_id, assignments__job=job, assignments__ended_at=None
    ).first()


def _may_work(actor: Any, job: Job) -> Crew | None:
    """Crew members of a crew on the job, or dispatchers, may take its steps."""
    if can(actor, "dispatch.manage"):
        return _crew_of(actor, job)
    check(actor, "dispatch.crew")
    crew = _crew_of(actor, job)
    if crew is None:
        raise AccessDenied(_("Your crew is not on job %(number)s.") % {"number": job.number})
    return crew


def _label(state: str) -> str:
    return str(JobState(state).label)


def _refuse_order(job: Job, kind: str) -> OutOfOrder:
    nxt = NEXT_STEP.get(job.state)
    return OutOfOrder(
        _(
            "“%(step)s” is not possible now: job %(number)s is “%(state)s”; "
            "the next step is “%(next)s”."
        )
        % {
            "step": StepKind(kind).label,
            "number": job.number,
            "state": _label(job.state),
            "next": StepKind(nxt).label if nxt else "—",
        },
        job=job,
    )


def _check_photo(photo: UploadedFile) -> None:
    size = photo.size or 0
    limit = _photo_limit()
    if size == 0:
        raise InvalidInput(_("The photo is empty."), field="photo")
    if size > limit:
        raise InvalidInput(
            _("A photo may be at most %(mb)d MB (this one is %(size).1f MB).")
            % {"mb": limit // (1024 * 1024), "size": size / 1024 / 1024},
            field="photo",
        )
    from PIL import Image, UnidentifiedImageError

    photo.seek(0)
    try:
        with Image.open(photo) as image:
            image.verify()
            if image.format not in ("JPEG", "PNG", "WEBP"):
                raise InvalidInput(_("Photos must be JPEG, PNG or WebP."), field="photo")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise InvalidInput(_("This file is not an image."), field="photo") from None
    finally:
        photo.seek(0)


def _photo_limit() -> int:
    from django.conf import settings

    return int(getattr(settings, "DISPATCH_PHOTO_MAX_BYTES", PHOTO_MAX_BYTES))


@dataclass
class StepResult:
    step: JobStep
    replayed: bool
    job: Job


@transaction.atomic
def step_record(
    *,
    actor: Any,
    job: Job,
    kind: str,
    client_id: str,
    at: dt.datetime | None = None,
    offline: bool = False,
    valve: str = "",
    note: str = "",
    photo: UploadedFile | None = None,
    photo_phase: str = "",
) -> StepResult:
    """Record one crew step. Idempotent: a `client_id` already recorded changes nothing
    and answers the stored step (`replayed`). Online steps are taken now and must be the
    job's next step; a step from the offline queue (`offline`) keeps its original time
    `at`, and one the job has already gone past (another crew of the job was quicker) is
    recorded for the history without moving the job back; a step that skips ahead is
    refused either way (“repaired” before “arrived”)."""
    client_id = (client_id or "").strip()
    if not client_id or len(client_id) > 64:
        raise InvalidInput(_("Each step needs its id (at most 64 characters)."), field="id")
    if kind not in StepKind.values:
        raise InvalidInput(_("Unknown step %(kind)s.") % {"kind": kind}, field="kind")
    existing = JobStep.objects.filter(client_id=client_id).select_related("job").first()
    if existing is not None:
        if existing.job_id != job.pk or existing.kind != kind:
            raise InvalidInput(_("This step id was used for another step."), field="id")
        return StepResult(existing, True, existing.job)
    crew = _may_work(actor, job)
    now = clock.now()
    if at is None or not offline:
        at = now
    try:
        at = validation.check_datetime(at, field="at")
    except ValidationError as error:
        raise InvalidInput(error.messages[0], field="at") from None
    if at > now + CLOCK_SKEW:
        raise InvalidInput(
            _("The step's time is in the future: check the phone's clock."), field="at"
        )
    note = _clean(note)
    if photo is not None:
        _check_photo(photo)
    hold_until_commit(LOCK_NAMESPACE + 1, str(job.pk))
    job = _lock(job)
    if at < job.created_at:
        at = job.created_at
    before = snapshot(job, TRACKED)
    moved = _apply(job, kind=kind, at=at, offline=offline, valve=valve, crew=crew)
    step = JobStep(
        job=job,
        crew=crew,
        kind=kind,
        client_id=client_id,
        at=at,
        received_at=now,
        offline=offline,
        by=user_of(actor),
        valve=valve[:60],
        note=note,
        photo_phase=photo_phase[:10] if photo is not None else "",
    )
    if photo is not None:
        step.photo.save(photo.name or "photo.jpg", photo, save=False)
    try:
        step.save()
    except Exception:
        if photo is not None:
            step.photo.delete(save=False)
        raise
    job.version += 1
    job.save()
    data: dict[str, Any] = {"step": kind, "offline": offline}
    if valve:
        data["valve"] = valve
    if crew is not None:
        data["crew"] = crew.team.code
    if not moved:
        data["late"] = True
    _event(job, actor=actor, action=f"job_{kind}", at=at, note=note, **data)
    # dispatch.step.accept, …: the sentences are in core.audit_text
    _audit(job, actor=actor, action=f"step.{kind}", before=before, note=note)
    if moved:
        _follow(job, kind=kind, crew=crew, at=at, actor=actor)
    return StepResult(step, False, job)


def _apply(
    job: Job, *, kind: str, at: dt.datetime, offline: bool, valve: str, crew: Crew | None
) -> bool:
    """Move the job by the step; False when an offline step found the job already past it
    (recorded for the history only)."""
    if kind in (StepKind.NOTE, StepKind.PHOTO):
        if job.state in (JobState.CANCELLED,):
            raise _refuse_order(job, kind)
        return True
    if kind == StepKind.VALVE:
        known = {v["eid"] for v in job.valves}
        if valve not in known:
            raise InvalidInput(
                _("Valve %(v)s is not in the job's isolation plan.") % {"v": valve or "?"},
                field="valve",
            )
        if job.state != JobState.ON_SITE:
            if (
                offline
                and ORDER.index(job.state) > ORDER.index(JobState.ON_SITE)
                and job.state != JobState.CANCELLED
            ):
                return False
            raise _refuse_order(job, kind)
        if valve in job.closed_valves:
            raise OutOfOrder(_("Valve %(v)s is already ticked.") % {"v": valve}, job=job)
        job.closed_valves = [*job.closed_valves, valve]
        return True
    before, after = STEP_FLOW[kind]
    if job.state == JobState.CANCELLED:
        raise _refuse_order(job, kind)
    if job.state != before:
        if offline and ORDER.index(job.state) >= ORDER.index(after):
            if kind == StepKind.ARRIVE and job.arrived_at and at < job.arrived_at:
                job.arrived_at = at
            return False
        raise _refuse_order(job, kind)
    job.state = after
    if kind == StepKind.ACCEPT:
        job.accepted_at = at
    elif kind == StepKind.ARRIVE:
        job.arrived_at = at
    elif kind == StepKind.REPAIRED:
        job.repaired_at = at
    elif kind == StepKind.RESTORED:
        job.restored_at = at
        pause = job.pauses.filter(ended_at=None).first()
        if pause is not None:
            pause.ended_at = max(at, pause.started_at)
            pause.save(update_fields=["ended_at"])
        _deadlines(job)
    return True


def _follow(job: Job, *, kind: str, crew: Crew | None, at: dt.datetime, actor: Any) -> None:
    """What follows a step: the crew's status, the case's own steps."""
    status = {
        StepKind.EN_ROUTE: CrewStatus.EN_ROUTE,
        StepKind.ARRIVE: CrewStatus.ON_SITE,
    }.get(kind)  # type: ignore[call-overload]
    if crew is not None and status is not None:
        Crew.objects.filter(pk=crew.pk).exclude(status=CrewStatus.OFF_DUTY).update(status=status)
    if kind == StepKind.ARRIVE:
        _case_step("arrive", job.ticket, note=job.number)
    elif kind == StepKind.RESTORED:
        _restored(job, at=at, actor=actor)


def _restored(job: Job, *, at: dt.datetime, actor: Any) -> None:
    """Supply restored: the crews are released, the merged cases' timelines say so, and
    the case (with every case merged into it) is resolved, which tells their owners and
    starts the follow-up callbacks as any resolution does."""
    from qingquan.tickets.models import OPEN_STATES, TicketEvent

    _end_assignments(job, now=at, reason=str(_("Supply restored")))
    ticket = job.ticket
    stamp = at.astimezone(clock.SHANGHAI).strftime("%Y-%m-%d %H:%M")
    text = _("Supply restored at %(at)s (repair job %(number)s).") % {
        "at": stamp,
        "number": job.number,
    }
    for child in ticket.children.filter(state__in=OPEN_STATES):
        TicketEvent.objects.create(
            ticket=child,
            at=at,
            actor=user_of(actor),
            action="job_restored",
            from_state=child.state,
            to_state=child.state,
            note=text,
            visibility=TicketEvent.Visibility.CUSTOMER,
            data={"job": job.number, "incident": ticket.number},
        )
    _case_step("resolve", ticket, resolution=text)


@dataclass
class ReplayResult:
    applied: list[StepResult]
    refused: dict[str, str]


def steps_replay(*, actor: Any, job: Job, steps: list[dict[str, Any]]) -> ReplayResult:
    """The phone's offline queue: steps applied in their original order (by `at`, then as
    sent), each in its own transaction and idempotent by its id; the first refusal stops
    the replay (later steps depend on it) and is reported with the steps not applied."""
    ordered = sorted(enumerate(steps), key=lambda pair: (pair[1]["at"], pair[0]))
    applied: list[StepResult] = []
    refused: dict[str, str] = {}
    for position, (_i, s) in enumerate(ordered):
        try:
            applied.append(
                step_record(
                    actor=actor,
                    job=job,
                    kind=s["kind"],
                    client_id=s["id"],
                    at=s["at"],
                    offline=True,
                    valve=s.get("valve") or "",
                    note=s.get("note") or "",
                )
            )
        except (InvalidInput, OutOfOrder) as error:
            refused[s["id"]] = error.message
            for _j, later in ordered[position + 1 :]:
                refused[later["id"]] = str(_("Not applied: an earlier step was refused."))
            break
        job = applied[-1].job
    return ReplayResult(applied, refused)


# ---------------------------------------------------------------------------
# Crews
# ---------------------------------------------------------------------------


@transaction.atomic
def crew_position(*, actor: Any, crew: Crew, lon: float, lat: float) -> Crew:
    """The crew app's position while on duty (not audited: a position is not a change of
    anyone's rights or records, and comes every minute)."""
    check(actor, "dispatch.crew")
    user = user_of(actor)
    if user is None or user.team_id != crew.team_id:
        raise AccessDenied(_("You may send only your own crew's position."))
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise InvalidInput(_("The position is outside the map."), field="position")
    Crew.objects.filter(pk=crew.pk).update(
        last_longitude=lon, last_latitude=lat, last_seen_at=clock.now()
    )
    crew.refresh_from_db()
    return crew


@transaction.atomic
def crew_set_status(*, actor: Any, crew: Crew, status: str) -> Crew:
    """A dispatcher (or the crew) marks a crew available or off duty."""
    if not can(actor, "dispatch.manage"):
        check(actor, "dispatch.crew")
        user = user_of(actor)
        if user is None or user.team_id != crew.team_id:
            raise AccessDenied(_("You may change only your own crew's status."))
    if status not in CrewStatus.values:
        raise InvalidInput(_("Unknown crew status."), field="status")
    crew = Crew.objects.select_for_update().get(pk=crew.pk)
    before = snapshot(crew, ("status",))
    crew.status = status
    crew.save(update_fields=["status"])
    audit_record(
        actor=actor,
        action="dispatch.crew.status",
        obj=crew,
        before=before,
        after=snapshot(crew, ("status",)),
    )
    return crew


# ---------------------------------------------------------------------------
# Referrals (R-REP-3)
# ---------------------------------------------------------------------------


@transaction.atomic
def referral_make(*, actor: Any, ticket: Any, partner: ReferralPartner, note: str = "") -> Referral:
    """Refer a case to a referral partner (help beyond duty, e.g. leak detection on a
    customer's private pipes): on the case's timeline (visible to the customer) and
    audited. The case's owner side or its handlers may refer it."""
    from qingquan.tickets import rules
    from qingquan.tickets.errors import NotAllowed

    if not (rules.is_owner_side(actor, ticket) or rules.is_handler(actor, ticket)):
        raise NotAllowed(_("You may not do this to case %(number)s.") % {"number": ticket.number})
    if not partner.is_active:
        raise InvalidInput(
            _("%(partner)s takes no referrals any more.") % {"partner": partner}, field="partner"
        )
    note = _clean(note, limit=200)
    now = clock.now()
    referral = Referral.objects.create(
        ticket=ticket, partner=partner, note=note, created_at=now, created_by=user_of(actor)
    )
    from qingquan.tickets.models import TicketEvent

    text = _("Referred to %(partner)s (%(service)s)") % {
        "partner": partner.name,
        "service": partner.service,
    }
    TicketEvent.objects.create(
        ticket=ticket,
        at=now,
        actor=user_of(actor),
        action="referral",
        from_state=ticket.state,
        to_state=ticket.state,
        note=f"{text} {note}".strip(),
        visibility=TicketEvent.Visibility.CUSTOMER,
        data={"partner": partner.pk},
    )
    audit_record(
        actor=actor,
        action="dispatch.referral.create",
        obj=referral,
        after={"ticket": ticket.number, "partner": partner.name},
    )
    return referral
