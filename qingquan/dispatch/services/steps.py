"""The crew app's steps: one at a time (`step_record`, idempotent by the phone's step
id) or the offline queue (`steps_replay`), and what follows them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from qingquan.core import clock, validation
from qingquan.core.actors import user_of
from qingquan.core.audit import snapshot
from qingquan.core.db import fastinsert, fastselect
from qingquan.core.db.locks import hold_until_commit
from qingquan.dispatch.errors import InvalidInput, OutOfOrder
from qingquan.dispatch.models import (
    Crew,
    CrewStatus,
    Job,
    JobState,
    JobStep,
    StepKind,
)
from qingquan.dispatch.services.base import (
    CLOCK_SKEW,
    LOCK_NAMESPACE,
    NEXT_STEP,
    ORDER,
    PHOTO_MAX_BYTES,
    STEP_FLOW,
    TRACKED,
    _audit,
    _case_step,
    _clean,
    _deadlines,
    _end_assignments,
    _event,
    _lock,
    _may_work,
)


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


# The job's columns a step may change (`_apply`, `_deadlines`): the UPDATE names these only.
STEP_WRITES = (
    "state",
    "closed_valves",
    "accepted_at",
    "arrived_at",
    "repaired_at",
    "restored_at",
    "arrive_deadline",
    "restore_deadline",
    "version",
)


@dataclass
class StepResult:
    step: JobStep
    replayed: bool
    job: Job


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
    crew: Crew | None = None,
) -> StepResult:
    """Record one crew step. Idempotent: a `client_id` already recorded changes nothing
    and answers the stored step (`replayed`). Online steps are taken now and must be the
    job's next step; a step from the offline queue (`offline`) keeps its original time
    `at`, and one the job has already gone past (another crew of the job was quicker) is
    recorded for the history without moving the job back; a step that skips ahead is
    refused either way (“repaired” before “arrived”). `crew`: the actor's crew on the
    job as the caller has just read it (`selectors.job_for_step`); else read here."""
    client_id = (client_id or "").strip()
    if not client_id or len(client_id) > 64:
        raise InvalidInput(_("Each step needs its id (at most 64 characters)."), field="id")
    if kind not in StepKind.values:
        raise InvalidInput(_("Unknown step %(kind)s.") % {"kind": kind}, field="kind")
    replayed = _replayed(job, kind=kind, client_id=client_id)
    if replayed is not None:
        return replayed
    # Who may act and what was sent are read and checked before the transaction: on
    # SQLite a transaction holds the one writer slot, and every crew's step waits for it.
    user = user_of(actor)
    if crew is None or user is None or crew.team_id != user.team_id:
        crew = _may_work(actor, job)
    now = clock.now()
    at = _step_time(at, offline=offline, now=now)
    if photo is not None:
        _check_photo(photo)
    step = JobStep(
        crew=crew,
        kind=kind,
        client_id=client_id,
        at=at,
        received_at=now,
        offline=offline,
        by=user,
        valve=valve[:60],
        note=_clean(note),
        photo_phase=photo_phase[:10] if photo is not None else "",
    )
    try:
        with transaction.atomic():
            return _step_write(job, step, photo=photo, actor=actor)
    except IntegrityError:
        # The same step id sent twice at once (a phone retrying): the other one won.
        replayed = _replayed(job, kind=kind, client_id=client_id)
        if replayed is None:
            raise
        return replayed


def _replayed(job: Job, *, kind: str, client_id: str) -> StepResult | None:
    """The step already recorded under `client_id`, answered as a replay; refused when
    the id was used for another job or another step. The usual answer is "none": a
    narrow look-up first, the whole step only for a replay."""
    seen = fastselect.first_id(JobStep, client_id=client_id)
    if seen is None:
        return None
    existing = JobStep.objects.select_related("job").get(pk=seen)
    if existing.job_id != job.pk or existing.kind != kind:
        raise InvalidInput(_("This step id was used for another step."), field="id")
    return StepResult(existing, True, existing.job)


def _step_write(job: Job, step: JobStep, *, photo: UploadedFile | None, actor: Any) -> StepResult:
    """The step's writes, in the caller's transaction: the job locked and moved, the
    step, the job's new version, the case's timeline, the audit row, what follows."""
    hold_until_commit(LOCK_NAMESPACE + 1, str(job.pk))
    job = _lock(job, whole_case=False)
    kind, crew = step.kind, step.crew
    if step.at < job.created_at:
        step.at = job.created_at
    before = snapshot(job, TRACKED)
    moved = _apply(job, kind=kind, at=step.at, offline=step.offline, valve=step.valve, crew=crew)
    step.job = job
    step = _step_save(step, photo=photo)
    job.version += 1
    job.save(update_fields=STEP_WRITES)
    data: dict[str, Any] = {"step": kind, "offline": step.offline}
    if step.valve:
        data["valve"] = step.valve
    if crew is not None:
        data["crew"] = crew.team.code
    if not moved:
        data["late"] = True
    _event(job, actor=actor, action=f"job_{kind}", at=step.at, note=step.note, **data)
    # dispatch.step.accept, …: the sentences are in core.audit_text
    _audit(job, actor=actor, action=f"step.{kind}", before=before, note=step.note)
    if moved:
        _follow(job, kind=kind, crew=crew, at=step.at, actor=actor)
    return StepResult(step, False, job)


def _step_time(at: dt.datetime | None, *, offline: bool, now: dt.datetime) -> dt.datetime:
    """When the step was taken: now for an online step, else the phone's time, which may
    not be in the future (beyond `CLOCK_SKEW`)."""
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
    return at


def _step_save(step: JobStep, *, photo: UploadedFile | None) -> JobStep:
    """Save the step with its photo; the stored photo is removed again if the row fails."""
    if photo is not None:
        step.photo.save(photo.name or "photo.jpg", photo, save=False)
    try:
        # Listened to by nobody: one precompiled INSERT (core.db.fastinsert).
        fastinsert.create(step)
    except Exception:
        if photo is not None:
            step.photo.delete(save=False)
        raise
    return step


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
