"""The crew app's steps: one at a time, the offline queue, photos (registered on the
router when imported)."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import File, Form, Status
from ninja.files import UploadedFile

from qingquan.core import clock
from qingquan.dispatch import selectors, services
from qingquan.dispatch.api.answers import (
    _job,
    _refused,
    _step,
    _the_job,
)
from qingquan.dispatch.api.jobs import (
    router,
)
from qingquan.dispatch.api.schemas import (
    ERRORS,
    JobStepIn,
    ReplayIn,
    ReplayOut,
    StepOut,
)
from qingquan.dispatch.errors import DispatchError
from qingquan.dispatch.models import StepKind


@router.post(
    "/jobs/{number}/steps",
    url_name="dispatch_step",
    response={200: StepOut, **ERRORS},
    summary="A crew step",
)
def step(request: HttpRequest, number: str, body: JobStepIn) -> Status:
    """Accept, en route, arrive, valve (with `valve`), repaired, restored, note. Sent
    twice with the same `id`: recorded once (`replayed`: true)."""
    try:
        job, crew = selectors.job_for_step(user=request.user, number=number)
        result = services.step_record(
            actor=request.user,
            job=job,
            crew=crew,
            kind=body.kind,
            client_id=body.id,
            at=body.at,
            offline=body.offline,
            valve=body.valve,
            note=body.note,
        )
    except DispatchError as error:
        return _refused(error)
    return Status(200, _step(result, written=True))


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
