"""The router, and the dispatcher's endpoints: the board, jobs, suggested crews, assign,
reassign, pause and resume."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Status

from qingquan.dispatch import selectors, services
from qingquan.dispatch.api.answers import (
    _crew,
    _job,
    _refused,
    _the_job,
)
from qingquan.dispatch.api.schemas import (
    ERRORS,
    AssignIn,
    BoardParams,
    JobIn,
    JobOut,
    JobPauseIn,
    JobVersionIn,
    ReassignIn,
    SuggestionOut,
)
from qingquan.dispatch.errors import DispatchError
from qingquan.staff.access import check

router: Router = Router(tags=["dispatch"])


@router.get("/jobs", url_name="dispatch_jobs", response=list[JobOut], summary="Open repair jobs")
def jobs(request: HttpRequest, params: Query[BoardParams]) -> list[dict[str, Any]]:
    """The board: open jobs, most urgent first (the first 500), with their clocks and crews."""
    rows = selectors.board(
        user=request.user, district=params.district, state=params.state, limit=500
    )
    return [_job(r.job) for r in rows]


@router.post(
    "/jobs",
    url_name="dispatch_job_create",
    response={201: JobOut, **ERRORS},
    summary="Make a repair job",
)
def job_create(request: HttpRequest, body: JobIn) -> Status:
    """A job for a case or incident (a merged case's job goes to its incident), at the
    pipe or point given, else at the case's premise."""
    check(request.user, "dispatch.manage")
    ticket = selectors.case_for_job(user=request.user, number=body.case)
    if ticket is None:
        return Status(404, {"detail": f"No case {body.case}."})
    try:
        job = services.job_create(
            actor=request.user,
            ticket=ticket,
            kind=body.kind,
            pipe=body.pipe,
            lon=body.lon,
            lat=body.lat,
            priority=body.priority,
            note=body.note,
        )
    except DispatchError as error:
        return _refused(error)
    return Status(201, _job(job))


@router.get(
    "/jobs/{number}",
    url_name="dispatch_job",
    response={200: JobOut, **ERRORS},
    summary="A repair job",
)
def job_get(request: HttpRequest, number: str) -> Status:
    try:
        return Status(200, _job(_the_job(request, number)))
    except DispatchError as error:
        return _refused(error)


@router.get(
    "/jobs/{number}/suggestions",
    url_name="dispatch_suggestions",
    response={200: list[SuggestionOut], **ERRORS},
    summary="Crews ranked for a job, with reasons",
)
def suggestions(request: HttpRequest, number: str) -> Status:
    try:
        job = _the_job(request, number)
        ranked = selectors.suggest(user=request.user, job=job)
    except DispatchError as error:
        return _refused(error)
    return Status(
        200,
        [
            {
                "rank": s.rank,
                "crew": {"code": s.crew.team.code, "name": s.crew.team.name},
                "status": s.crew.status,
                "on_shift": s.on_shift,
                "missing_skills": s.missing,
                "load": s.load,
                "distance_km": round(s.distance_km, 2),
                "travel_minutes": s.travel_minutes,
                "eligible": s.eligible,
                "reasons": s.reasons,
            }
            for s in ranked
        ],
    )


@router.post(
    "/jobs/{number}/assign",
    url_name="dispatch_assign",
    response={200: JobOut, **ERRORS},
    summary="Send a crew",
)
def assign(request: HttpRequest, number: str, body: AssignIn) -> Status:
    """One click: the crew is sent. Someone else changed the job since you read it: 409
    with the job as it is now."""
    check(request.user, "dispatch.manage")
    try:
        job = services.job_assign(
            actor=request.user,
            job=_the_job(request, number),
            crew=_crew(body.crew),
            version=body.version,
            add=body.add,
        )
    except DispatchError as error:
        return _refused(error)
    return Status(200, _job(job))


@router.post(
    "/jobs/{number}/reassign",
    url_name="dispatch_reassign",
    response={200: JobOut, **ERRORS},
    summary="Change a job's crew, with a reason",
)
def reassign(request: HttpRequest, number: str, body: ReassignIn) -> Status:
    check(request.user, "dispatch.manage")
    try:
        job = services.job_reassign(
            actor=request.user,
            job=_the_job(request, number),
            version=body.version,
            old=_crew(body.old),
            new=_crew(body.new),
            reason=body.reason,
        )
    except DispatchError as error:
        return _refused(error)
    return Status(200, _job(job))


@router.post(
    "/jobs/{number}/pause",
    url_name="dispatch_pause",
    response={200: JobOut, **ERRORS},
    summary="Pause the restoration clock",
)
def pause(request: HttpRequest, number: str, body: JobPauseIn) -> Status:
    try:
        job = services.job_pause(
            actor=request.user,
            job=_the_job(request, number),
            version=body.version,
            reason=body.reason,
            note=body.note,
        )
    except DispatchError as error:
        return _refused(error)
    return Status(200, _job(job))


@router.post(
    "/jobs/{number}/resume",
    url_name="dispatch_resume",
    response={200: JobOut, **ERRORS},
    summary="Resume the restoration clock",
)
def resume(request: HttpRequest, number: str, body: JobVersionIn) -> Status:
    try:
        job = services.job_resume(
            actor=request.user, job=_the_job(request, number), version=body.version
        )
    except DispatchError as error:
        return _refused(error)
    return Status(200, _job(job))
