"""Repair dispatch over HTTP: /api/v1/dispatch/… (mounted in qingquan.api).

Dispatchers and supervisors (`dispatch.view`, `dispatch.manage`) read the board, make
jobs from cases, see the crews suggested with their reasons, assign, reassign and pause;
crew members (`dispatch.crew`) read their crew's jobs and send their steps, one at a time
or as the phone's offline queue (`/steps/replay`, applied in the steps' original order).
Refusals: 403 (the one access error), 404 unknown job or crew, 400 bad input, 409 a step
out of order or a job someone else changed (with `job`: the job as it is now).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile

from qingquan.core import clock
from qingquan.dispatch import selectors, services
from qingquan.dispatch.errors import DispatchError, NotFound
from qingquan.dispatch.models import Crew, Job, PauseReason, ReferralPartner, StepKind
from qingquan.staff.access import check

router: Router = Router(tags=["dispatch"])


class ClockOut(Schema):
    deadline: dt.datetime | None
    remaining_seconds: float
    state: str = Field(description="ok, warning, breached, paused, met or late")


class ValveOut(Schema):
    eid: str
    lon: float
    lat: float
    closed: bool


class CrewRef(Schema):
    code: str
    name: str


class PauseOut(Schema):
    reason: str
    reason_label: str
    note: str
    since: dt.datetime


class JobOut(Schema):
    number: str
    case: str
    kind: str
    kind_label: str
    state: str
    state_label: str
    priority: str
    address: str
    district: str | None
    lon: float
    lat: float
    pipe: str
    diameter_mm: float
    segment: int | None
    valves: list[ValveOut]
    affected_premises: int
    policy: str
    arrive: ClockOut
    restore: ClockOut
    paused: PauseOut | None
    crews: list[CrewRef]
    calls: int = Field(description="Cases of the incident (the case and those merged into it)")
    created_at: dt.datetime
    accepted_at: dt.datetime | None
    arrived_at: dt.datetime | None
    repaired_at: dt.datetime | None
    restored_at: dt.datetime | None
    next_step: str | None
    version: int


class ErrorOut(Schema):
    detail: str
    field: str = ""
    job: JobOut | None = None


def _clock(c: selectors.ClockView) -> dict[str, Any]:
    return {"deadline": c.deadline, "remaining_seconds": c.remaining_seconds, "state": c.state}


def _job(job: Job) -> dict[str, Any]:
    row = selectors.job_row(job)
    job = row.job
    return {
        "number": job.number,
        "case": job.ticket.number,
        "kind": job.kind,
        "kind_label": job.get_kind_display(),
        "state": job.state,
        "state_label": job.get_state_display(),
        "priority": job.priority,
        "address": job.address,
        "district": job.district.name if job.district is not None else None,
        "lon": job.longitude,
        "lat": job.latitude,
        "pipe": job.pipe_eid,
        "diameter_mm": job.diameter_mm,
        "segment": job.segment,
        "valves": [{**v, "closed": v["eid"] in job.closed_valves} for v in job.valves],
        "affected_premises": job.affected_premises,
        "policy": job.policy_name,
        "arrive": _clock(row.arrive),
        "restore": _clock(row.restore),
        "paused": (
            {
                "reason": row.paused.reason,
                "reason_label": row.paused.get_reason_display(),
                "note": row.paused.note,
                "since": row.paused.started_at,
            }
            if row.paused
            else None
        ),
        "crews": [{"code": c.team.code, "name": c.team.name} for c in row.crews],
        "calls": row.calls,
        "created_at": job.created_at,
        "accepted_at": job.accepted_at,
        "arrived_at": job.arrived_at,
        "repaired_at": job.repaired_at,
        "restored_at": job.restored_at,
        "next_step": services.NEXT_STEP.get(job.state),
        "version": job.version,
    }


def _refused(error: DispatchError) -> Status:
    body: dict[str, Any] = {"detail": error.message, "field": error.field}
    if error.job is not None:
        body["job"] = _job(error.job)
    return Status(error.status, body)


ERRORS = {400: ErrorOut, 404: ErrorOut, 409: ErrorOut}


def _the_job(request: HttpRequest, number: str) -> Job:
    return selectors.job_for(user=request.user, number=number)


def _crew(code: str) -> Crew:
    crew = Crew.objects.select_related("team").filter(team__code=code).first()
    if crew is None:
        raise NotFound(f"No crew {code}.")
    return crew


# Jobs ------------------------------------------------------------------------------------
class BoardParams(Schema):
    district: int | None = Field(None, ge=1, le=2_147_483_647)
    state: str | None = Field(None, max_length=20)


@router.get("/jobs", url_name="dispatch_jobs", response=list[JobOut], summary="Open repair jobs")
def jobs(request: HttpRequest, params: Query[BoardParams]) -> list[dict[str, Any]]:
    """The board: open jobs, most urgent first (the first 500), with their clocks and crews."""
    rows = selectors.board(
        user=request.user, district=params.district, state=params.state, limit=500
    )
    return [_job(r.job) for r in rows]


class JobIn(Schema):
    case: str = Field(..., max_length=16, description="The case (or incident) number")
    kind: str | None = Field(None, description="burst, leak, service_pipe, frozen_meter, other")
    pipe: str | None = Field(None, max_length=40, description="A pipe's network id")
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)
    priority: str | None = Field(None, max_length=10)
    note: str = Field("", max_length=4000)


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


class SuggestionOut(Schema):
    rank: int
    crew: CrewRef
    status: str
    on_shift: bool
    missing_skills: list[str]
    load: int
    distance_km: float
    travel_minutes: int = Field(
        description="Straight-line distance × the road factor at the average speed"
    )
    eligible: bool
    reasons: list[str]


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


class AssignIn(Schema):
    crew: str = Field(..., max_length=40, description="The crew's team code")
    version: int = Field(..., ge=1, description="The job's version you read")
    add: bool = Field(False, description="Send another crew to a job that has one")


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


class ReassignIn(Schema):
    old: str = Field(..., max_length=40)
    new: str = Field(..., max_length=40)
    version: int = Field(..., ge=1)
    reason: str = Field(..., max_length=200)


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


class PauseIn(Schema):
    reason: str = Field(..., description=", ".join(PauseReason.values))
    note: str = Field("", max_length=200)
    version: int | None = Field(None, ge=1)


@router.post(
    "/jobs/{number}/pause",
    url_name="dispatch_pause",
    response={200: JobOut, **ERRORS},
    summary="Pause the restoration clock",
)
def pause(request: HttpRequest, number: str, body: PauseIn) -> Status:
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


class VersionIn(Schema):
    version: int | None = Field(None, ge=1)


@router.post(
    "/jobs/{number}/resume",
    url_name="dispatch_resume",
    response={200: JobOut, **ERRORS},
    summary="Resume the restoration clock",
)
def resume(request: HttpRequest, number: str, body: VersionIn) -> Status:
    try:
        job = services.job_resume(
            actor=request.user, job=_the_job(request, number), version=body.version
        )
    except DispatchError as error:
        return _refused(error)
    return Status(200, _job(job))


# Crew steps ------------------------------------------------------------------------------
class StepIn(Schema):
    id: str = Field(
        ...,
        min_length=1,
        max_length=64,
        description="Made by the phone: the step's idempotency key",
    )
    kind: str = Field(..., description=", ".join(StepKind.values))
    at: dt.datetime | None = Field(None, description="When it was taken (kept for offline steps)")
    offline: bool = False
    valve: str = Field("", max_length=60)
    note: str = Field("", max_length=4000)


class StepOut(Schema):
    id: str
    kind: str
    at: dt.datetime
    replayed: bool
    job: JobOut


def _step(result: services.StepResult) -> dict[str, Any]:
    return {
        "id": result.step.client_id,
        "kind": result.step.kind,
        "at": result.step.at,
        "replayed": result.replayed,
        "job": _job(result.job),
    }


@router.post(
    "/jobs/{number}/steps",
    url_name="dispatch_step",
    response={200: StepOut, **ERRORS},
    summary="A crew step",
)
def step(request: HttpRequest, number: str, body: StepIn) -> Status:
    """Accept, en route, arrive, valve (with `valve`), repaired, restored, note. Sent
    twice with the same `id`: recorded once (`replayed`: true)."""
    try:
        result = services.step_record(
            actor=request.user,
            job=_the_job(request, number),
            kind=body.kind,
            client_id=body.id,
            at=body.at,
            offline=body.offline,
            valve=body.valve,
            note=body.note,
        )
    except DispatchError as error:
        return _refused(error)
    return Status(200, _step(result))


class ReplayIn(Schema):
    steps: list[StepIn] = Field(..., min_length=1, max_length=200)


class ReplayOut(Schema):
    applied: list[StepOut]
    refused: dict[str, str]
    job: JobOut


@router.post(
    "/jobs/{number}/steps/replay",
    url_name="dispatch_replay",
    response={200: ReplayOut, **ERRORS},
    summary="The phone's offline queue, applied in original order",
)
def replay(request: HttpRequest, number: str, body: ReplayIn) -> Status:
    try:
        job = _the_job(request, number)
        now = clock.now()
        result = services.steps_replay(
            actor=request.user,
            job=job,
            steps=[{**s.dict(), "at": s.at or now} for s in body.steps],
        )
    except DispatchError as error:
        return _refused(error)
    job.refresh_from_db()
    return Status(
        200,
        {
            "applied": [_step(r) for r in result.applied],
            "refused": result.refused,
            "job": _job(job),
        },
    )


@router.post(
    "/jobs/{number}/photos",
    url_name="dispatch_photo",
    response={200: StepOut, **ERRORS},
    summary="A photo (before or after), checked and at most DISPATCH_PHOTO_MAX_BYTES",
)
def photo(
    request: HttpRequest,
    number: str,
    id: Form[str],
    file: File[UploadedFile],
    phase: Form[str] = "before",
    at: Form[dt.datetime | None] = None,
    offline: Form[bool] = False,
) -> Status:
    try:
        result = services.step_record(
            actor=request.user,
            job=_the_job(request, number),
            kind=StepKind.PHOTO,
            client_id=id,
            at=at,
            offline=offline,
            photo=file,
            photo_phase="after" if phase == "after" else "before",
        )
    except DispatchError as error:
        return _refused(error)
    return Status(200, _step(result))


# Crews -----------------------------------------------------------------------------------
class CrewOut(Schema):
    code: str
    name: str
    status: str
    status_label: str
    on_shift: bool
    load: int
    skills: list[str]
    vehicle: str
    lon: float
    lat: float
    at_depot: bool
    members: list[str]


@router.get("/crews", url_name="dispatch_crews", response=list[CrewOut], summary="Crews")
def crews(request: HttpRequest) -> list[dict[str, Any]]:
    return [
        {
            "code": r.crew.team.code,
            "name": r.crew.team.name,
            "status": r.crew.status,
            "status_label": r.crew.get_status_display(),
            "on_shift": r.on_shift,
            "load": r.load,
            "skills": r.crew.skills,
            "vehicle": r.crew.vehicle,
            "lon": r.crew.position[0],
            "lat": r.crew.position[1],
            "at_depot": r.crew.at_depot,
            "members": [m.get_full_name() or m.username for m in r.members],
        }
        for r in selectors.crews(user=request.user)
    ]


class PositionIn(Schema):
    lon: float = Field(..., ge=-180, le=180)
    lat: float = Field(..., ge=-90, le=90)


class OkOut(Schema):
    ok: bool


@router.post(
    "/crews/{code}/position",
    url_name="dispatch_position",
    response={200: OkOut, **ERRORS},
    summary="The crew app's position while on duty",
)
def position(request: HttpRequest, code: str, body: PositionIn) -> Status:
    try:
        services.crew_position(actor=request.user, crew=_crew(code), lon=body.lon, lat=body.lat)
    except DispatchError as error:
        return _refused(error)
    return Status(200, {"ok": True})


class StatusIn(Schema):
    status: str


@router.post(
    "/crews/{code}/status",
    url_name="dispatch_crew_status",
    response={200: OkOut, **ERRORS},
    summary="Mark a crew available or off duty",
)
def crew_status(request: HttpRequest, code: str, body: StatusIn) -> Status:
    try:
        services.crew_set_status(actor=request.user, crew=_crew(code), status=body.status)
    except DispatchError as error:
        return _refused(error)
    return Status(200, {"ok": True})


@router.get(
    "/board/geojson",
    url_name="dispatch_geojson",
    response=dict[str, Any],
    summary="Open jobs and crews as GeoJSON",
)
def board_geojson(request: HttpRequest, params: Query[BoardParams]) -> dict[str, Any]:
    rows = selectors.board(
        user=request.user, district=params.district, state=params.state, limit=1000
    )
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [r.job.longitude, r.job.latitude]},
            "properties": {
                "layer": "job",
                "number": r.job.number,
                "state": r.job.state,
                "state_label": r.job.get_state_display(),
                "kind_label": r.job.get_kind_display(),
                "priority": r.job.priority,
                "colour": (r.arrive if r.job.arrived_at is None else r.restore).colour,
                "calls": r.calls,
                "address": r.job.address,
            },
        }
        for r in rows
    ]
    for c in selectors.crews(user=request.user):
        lon, lat = c.crew.position
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": {
                    "layer": "crew",
                    "code": c.crew.team.code,
                    "name": c.crew.team.name,
                    "status": c.crew.status,
                    "status_label": c.crew.get_status_display(),
                    "on_shift": c.on_shift,
                    "load": c.load,
                    "at_depot": c.crew.at_depot,
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


# Referrals (R-REP-3) -----------------------------------------------------------------------
class PartnerOut(Schema):
    id: int
    name: str
    service: str
    phone: str


@router.get(
    "/referral-partners",
    url_name="dispatch_referral_partners",
    response=list[PartnerOut],
    summary="Companies cases may be referred to",
)
def referral_partners(request: HttpRequest) -> list[dict[str, Any]]:
    check(request.user, "tickets.view")
    return [
        {"id": p.pk, "name": p.name, "service": p.service, "phone": p.phone}
        for p in ReferralPartner.objects.filter(is_active=True)
    ]


class ReferralIn(Schema):
    case: str = Field(..., max_length=16)
    partner: int = Field(..., ge=1, le=2_147_483_647)
    note: str = Field("", max_length=200)


class ReferralOut(Schema):
    case: str
    partner: str
    created_at: dt.datetime


@router.post(
    "/referrals",
    url_name="dispatch_referral",
    response={201: ReferralOut, **ERRORS},
    summary="Refer a case to a referral partner (help beyond duty)",
)
def referral(request: HttpRequest, body: ReferralIn) -> Status:
    from qingquan.tickets.selectors import visible_case

    check(request.user, "tickets.view")
    ticket = visible_case(user=request.user, number=body.case)
    partner = ReferralPartner.objects.filter(pk=body.partner).first()
    if ticket is None or partner is None:
        return Status(404, {"detail": "No such case or referral partner."})
    try:
        made = services.referral_make(
            actor=request.user, ticket=ticket, partner=partner, note=body.note
        )
    except DispatchError as error:
        return _refused(error)
    return Status(
        201, {"case": ticket.number, "partner": partner.name, "created_at": made.created_at}
    )
