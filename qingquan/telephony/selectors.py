"""Reads about calls and agent states, with the access check."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from qingquan.core import clock
from qingquan.staff.access import can
from qingquan.staff.models import User
from qingquan.telephony.models import AgentState, AgentStatus, BlockedNumber, Call, CallState


def agents_with_extension() -> QuerySet[User]:
    """Staff with a phone extension (who a call can be answered by)."""
    return User.objects.filter(is_active=True).exclude(extension="").order_by("extension")


def agent_state_of(user: Any) -> AgentState:
    """The user's state row (an unsaved "signed out" one if they never had a state)."""
    state = AgentState.objects.filter(user=user).select_related("call").first()
    return state or AgentState(user=user, status=AgentStatus.OFFLINE, since=clock.now())


def current_call(*, user: Any) -> Call | None:
    """The call the agent is on now, else their last call if it ended in the last 2 minutes."""
    if not can(user, "console.use"):
        raise PermissionDenied("console.use")
    live = (
        Call.objects.filter(agent=user, state=CallState.ANSWERED).order_by("-answered_at").first()
    )
    if live is not None:
        return live
    recent = clock.now() - dt.timedelta(minutes=2)
    return (
        Call.objects.filter(agent=user, state=CallState.ENDED, ended_at__gte=recent)
        .order_by("-ended_at")
        .first()
    )


def call_for(*, user: Any, call_pk: int) -> Call:
    """A call the user may open: their own, or any for wallboard viewers. Call.DoesNotExist."""
    if not can(user, "console.use"):
        raise PermissionDenied("console.use")
    qs = Call.objects.select_related("contact", "agent")
    if not can(user, "wallboard.view"):
        qs = qs.filter(agent=user)
    return qs.get(pk=call_pk)


def recent_calls(*, user: Any) -> QuerySet[Call]:
    if not can(user, "wallboard.view") and not can(user, "telephony.simulate"):
        return Call.objects.none()
    return Call.objects.select_related("agent").order_by("-rang_at", "-id")


def waiting_calls() -> QuerySet[Call]:
    return Call.objects.waiting().order_by("rang_at")


def blocked_numbers() -> QuerySet[BlockedNumber]:
    return BlockedNumber.objects.filter(active=True).select_related("created_by")
