"""New connections API (/api/v1/connections/): the applications the caller may see with
their clocks (what waits on whom), one application, and its owner's next step."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError

from qingquan.connections import selectors, services
from qingquan.connections.models import Application, RealEstateProject
from qingquan.core.schemas import PageIn, PageOut, paged

router: Router = Router(tags=["connections"])


class ProjectOut(Schema):
    name: str
    households: int
    ready_on: dt.date | None
    ready_evidence: str


class ConnectionOut(Schema):
    number: str
    policy: str
    channel: str
    state: str
    applicant_kind: str
    step: int
    step_name: str
    manager: str
    created_at: dt.datetime
    deadline: dt.datetime | None
    water_on_at: dt.datetime | None
    used_working_days: float
    budget_working_days: float
    paused: bool
    waiting_on: str
    waiting_for: str
    version: int
    step_phase: str
    clock_stopped_at: dt.datetime | None
    project: ProjectOut | None


class ConnectionPageOut(PageOut):
    items: list[ConnectionOut]


class ConnectionFilterIn(PageIn):
    state: str = ""


class ConnectionReadyIn(Schema):
    version: int
    ready_on: dt.date
    evidence: str = Field(max_length=300)


class ConnectionStepIn(Schema):
    version: int
    note: str = ""
    engineer_id: int | None = None


def _out(app: Application) -> dict[str, Any]:
    view = selectors.clock_view(app)
    return {
        "number": app.number,
        "policy": app.policy.code,
        "channel": app.channel,
        "state": app.state,
        "applicant_kind": app.applicant_kind,
        "step": app.step,
        "step_name": view.step.name if view.step else "",
        "manager": app.manager.get_full_name(),
        "created_at": app.created_at,
        "deadline": app.deadline,
        "water_on_at": app.water_on_at,
        "used_working_days": round(view.used_days, 3),
        "budget_working_days": round(view.budget_days, 3),
        "paused": view.paused,
        "waiting_on": view.waiting_on,
        "waiting_for": view.waiting_for,
        "version": app.version,
        "step_phase": view.step.phase if view.step else "",
        "clock_stopped_at": app.clock_done_at,
        "project": _project(app),
    }


def _project(app: Application) -> dict[str, Any] | None:
    project = RealEstateProject.objects.filter(application=app).first()
    if project is None:
        return None
    return {
        "name": project.name,
        "households": project.households,
        "ready_on": project.ready_on,
        "ready_evidence": project.ready_evidence,
    }


@router.get("/", response=ConnectionPageOut, summary="Applications I may see, newest first")
def applications(request: HttpRequest, filters: Query[ConnectionFilterIn]) -> dict[str, Any]:
    rows = selectors.applications_for(request.user).order_by("-created_at", "-pk")
    if filters.state:
        rows = rows.filter(state=filters.state)
    return paged(rows, filters, _out)


def _found(request: HttpRequest, number: str) -> Application:
    app = selectors.application_for(request.user, number)
    if app is None:
        raise HttpError(404, "No such application.")
    return app


@router.get("/{number}", response=ConnectionOut, summary="One application with its clock")
def application(request: HttpRequest, number: str) -> dict[str, Any]:
    return _out(_found(request, number))


@router.post("/{number}/step", response=ConnectionOut, summary="Finish the current step")
def step(request: HttpRequest, number: str, payload: ConnectionStepIn) -> dict[str, Any]:
    """The current step's owner finishes it (the last step is water on); 400 with the
    reason when refused, 403 for someone who does not own it, 409 on a stale version."""
    from qingquan.staff.models import User

    app = _found(request, number)
    engineer = User.objects.filter(pk=payload.engineer_id).first() if payload.engineer_id else None
    try:
        app = services.step_complete(
            actor=request.user,
            application=app,
            version=payload.version,
            note=payload.note,
            engineer=engineer,
        )
    except services.Stale as exc:
        raise HttpError(409, str(exc.message)) from None
    except ValidationError as exc:
        raise HttpError(400, exc.messages[0]) from None
    app.refresh_from_db()
    return _out(app)


@router.post(
    "/{number}/ready", response=ConnectionOut, summary="Record a real-estate site's ready date"
)
def ready(request: HttpRequest, number: str, payload: ConnectionReadyIn) -> dict[str, Any]:
    """The documented date the developer's site was ready, with its evidence: the 10
    working days to construction entry run from it. 400 when refused (a date in the
    future, no evidence, recorded already), 403 for someone who may not, 409 when stale."""
    app = _found(request, number)
    try:
        services.ready_record(
            actor=request.user,
            application=app,
            version=payload.version,
            ready_on=payload.ready_on,
            evidence=payload.evidence,
        )
    except services.Stale as exc:
        raise HttpError(409, str(exc.message)) from None
    except ValidationError as exc:
        raise HttpError(400, exc.messages[0]) from None
    app.refresh_from_db()
    return _out(app)
