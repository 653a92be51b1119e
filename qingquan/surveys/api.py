"""Callbacks API: my open callbacks, and recording a call's outcome."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.errors import HttpError

from qingquan.staff.access import check
from qingquan.surveys import selectors, services
from qingquan.tickets.errors import NotAllowed, StaleVersion, TicketError

router: Router = Router(tags=["callbacks"])


class CallbackOut(Schema):
    id: int
    purpose: str
    case: str | None
    due_at: dt.datetime
    next_attempt_at: dt.datetime | None
    status: str
    attempts: int
    outcome: str
    version: int


class AttemptIn(Schema):
    outcome: str
    note: str = ""
    version: int


def _out(task: Any) -> dict[str, Any]:
    return {
        "id": task.pk,
        "purpose": task.purpose,
        "case": task.ticket.number if task.ticket_id else None,
        "due_at": task.due_at,
        "next_attempt_at": task.next_attempt_at,
        "status": task.status,
        "attempts": task.attempts,
        "outcome": task.outcome,
        "version": task.version,
    }


@router.get("/", response=list[CallbackOut], summary="My open callbacks, earliest due first")
def mine(request: HttpRequest) -> list[dict[str, Any]]:
    check(request.user, "surveys.callback")
    rows = selectors.open_callbacks(request.user).filter(assignee_id=request.user.pk)[:500]
    return [_out(t) for t in rows]


@router.post("/{task_id}/attempts", response=CallbackOut, summary="Record one call")
def attempt(request: HttpRequest, task_id: int, payload: AttemptIn) -> dict[str, Any]:
    """Record a call's outcome (satisfied, fairly_satisfied, dissatisfied, unreachable,
    declined); 409 on a stale version, 403 when it is not your callback."""
    check(request.user, "surveys.callback")
    task = selectors.callbacks_for(request.user).filter(pk=task_id).first()
    if task is None:
        raise HttpError(404, "No such callback.")
    try:
        task = services.callback_attempt_record(
            actor=request.user,
            task=task,
            version=payload.version,
            outcome=payload.outcome,
            note=payload.note,
        )
    except StaleVersion as error:
        raise HttpError(409, str(error)) from None
    except NotAllowed:
        raise  # the one access error: the API's 403
    except TicketError as error:
        raise HttpError(400, str(error)) from None
    return _out(task)
