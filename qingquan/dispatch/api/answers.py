"""Records to answers (a job with its clocks and crews, a step), refusals to 4xx, the
job and crew an URL names."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Status

from qingquan.dispatch import selectors, services
from qingquan.dispatch.errors import DispatchError, NotFound
from qingquan.dispatch.models import Crew, Job


def _clock(c: selectors.ClockView) -> dict[str, Any]:
    return {"deadline": c.deadline, "remaining_seconds": c.remaining_seconds, "state": c.state}


def _job(job: Job, *, written: bool = False, crew: Any = None) -> dict[str, Any]:
    """The job's answer; `written`: the job a service has just locked and written (by
    `crew`, when a crew's step)."""
    row = selectors.job_row_written(job, crew=crew) if written else selectors.job_row(job)
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


def _the_job(request: HttpRequest, number: str) -> Job:
    return selectors.job_for(user=request.user, number=number, related=False)


def _crew(code: str) -> Crew:
    crew = Crew.objects.select_related("team").filter(team__code=code).first()
    if crew is None:
        raise NotFound(f"No crew {code}.")
    return crew


def _step(result: services.StepResult, *, written: bool = False) -> dict[str, Any]:
    return {
        "id": result.step.client_id,
        "kind": result.step.kind,
        "at": result.step.at,
        "replayed": result.replayed,
        "job": _job(result.job, written=written and not result.replayed, crew=result.step.crew),
    }
