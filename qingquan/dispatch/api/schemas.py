"""Input and output schemas of the dispatch API."""

from __future__ import annotations

import datetime as dt

from ninja import Field, Schema

from qingquan.dispatch.models import PauseReason, StepKind


class JobClockOut(Schema):
    deadline: dt.datetime | None
    remaining_seconds: float
    state: str = Field(description="ok, warning, breached, paused, met or late")


class JobValveOut(Schema):
    eid: str
    lon: float
    lat: float
    closed: bool


class CrewRef(Schema):
    code: str
    name: str


class JobPauseOut(Schema):
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
    valves: list[JobValveOut]
    affected_premises: int
    policy: str
    arrive: JobClockOut
    restore: JobClockOut
    paused: JobPauseOut | None
    crews: list[CrewRef]
    calls: int = Field(description="Cases of the incident (the case and those merged into it)")
    created_at: dt.datetime
    accepted_at: dt.datetime | None
    arrived_at: dt.datetime | None
    repaired_at: dt.datetime | None
    restored_at: dt.datetime | None
    next_step: str | None
    version: int


class JobErrorOut(Schema):
    detail: str
    field: str = ""
    job: JobOut | None = None


ERRORS = {400: JobErrorOut, 404: JobErrorOut, 409: JobErrorOut}


class BoardParams(Schema):
    district: int | None = Field(None, ge=1, le=2_147_483_647)
    state: str | None = Field(None, max_length=20)


class JobIn(Schema):
    case: str = Field(..., max_length=16, description="The case (or incident) number")
    kind: str | None = Field(None, description="burst, leak, service_pipe, frozen_meter, other")
    pipe: str | None = Field(None, max_length=40, description="A pipe's network id")
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)
    priority: str | None = Field(None, max_length=10)
    note: str = Field("", max_length=4000)


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


class AssignIn(Schema):
    crew: str = Field(..., max_length=40, description="The crew's team code")
    version: int = Field(..., ge=1, description="The job's version you read")
    add: bool = Field(False, description="Send another crew to a job that has one")


class ReassignIn(Schema):
    old: str = Field(..., max_length=40)
    new: str = Field(..., max_length=40)
    version: int = Field(..., ge=1)
    reason: str = Field(..., max_length=200)


class JobPauseIn(Schema):
    reason: str = Field(..., description=", ".join(PauseReason.values))
    note: str = Field("", max_length=200)
    version: int | None = Field(None, ge=1)


class JobVersionIn(Schema):
    version: int | None = Field(None, ge=1)


class JobStepIn(Schema):
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


class ReplayIn(Schema):
    steps: list[JobStepIn] = Field(..., min_length=1, max_length=200)


class ReplayOut(Schema):
    applied: list[StepOut]
    refused: dict[str, str]
    job: JobOut


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


class PositionIn(Schema):
    lon: float = Field(..., ge=-180, le=180)
    lat: float = Field(..., ge=-90, le=90)


class OkOut(Schema):
    ok: bool


class StatusIn(Schema):
    status: str


class PartnerOut(Schema):
    id: int
    name: str
    service: str
    phone: str


class ReferralIn(Schema):
    case: str = Field(..., max_length=16)
    partner: int = Field(..., ge=1, le=2_147_483_647)
    note: str = Field("", max_length=200)


class ReferralOut(Schema):
    case: str
    partner: str
    created_at: dt.datetime
