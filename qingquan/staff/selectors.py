"""Reads about staff and shifts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import QuerySet

from qingquan.core import clock
from qingquan.staff.access import CAPABILITIES
from qingquan.staff.models import ShiftAssignment, User

HOLDERS_SECONDS = 30  # a holders list is read again after this, or when a staff member is saved


def holders(capability: str) -> list[int]:
    """Ids of the active staff whose role grants `capability`: whom a live push (the
    wallboard's refresh, the dispatch board's changes) goes to. One indexed query at most
    every `HOLDERS_SECONDS`, whatever the number of staff; the list is forgotten when a
    staff member is saved (`staff.signals`), and a push only says "look again": what the
    page then reads is checked as every read is."""
    key = holders_key(capability)
    ids = cache.get(key)
    if ids is None:
        roles = CAPABILITIES[capability]
        ids = list(User.objects.filter(is_active=True, role__in=roles).values_list("pk", flat=True))
        cache.set(key, ids, HOLDERS_SECONDS)
    return list(ids)


def holders_key(capability: str) -> str:
    return f"staff:holders:{capability}"


@dataclass(frozen=True)
class ShiftNow:
    """A staff member's shift relative to an instant: the one running, else the next."""

    assignment: ShiftAssignment
    starts: dt.datetime
    ends: dt.datetime
    running: bool


def shift_for(*, user: User, at: dt.datetime | None = None) -> ShiftNow | None:
    """The shift `user` is working at `at` (default now), or their next one within a week."""
    at = (at or clock.now()).astimezone(clock.SHANGHAI)
    day = at.date()
    candidates = (
        ShiftAssignment.objects.filter(
            user=user, date__range=(day - dt.timedelta(days=1), day + dt.timedelta(days=7))
        )
        .select_related("shift")
        .order_by("date", "shift__starts")
    )
    upcoming: ShiftNow | None = None
    for assignment in candidates:
        starts, ends = assignment.shift.window(assignment.date, clock.SHANGHAI)
        if starts <= at < ends:
            return ShiftNow(assignment, starts, ends, running=True)
        if starts > at and upcoming is None:
            upcoming = ShiftNow(assignment, starts, ends, running=False)
    return upcoming


def on_shift(*, at: dt.datetime | None = None) -> list[ShiftNow]:
    """Every rostered shift running at `at` (default now), with its staff member."""
    at = (at or clock.now()).astimezone(clock.SHANGHAI)
    result = []
    rows = (
        ShiftAssignment.objects.around(at.date())
        .select_related("shift", "user", "user__team", "user__department")
        .filter(user__is_active=True)
        .order_by("shift__starts", "user__full_name")
    )
    for assignment in rows:
        starts, ends = assignment.shift.window(assignment.date, clock.SHANGHAI)
        if starts <= at < ends:
            result.append(ShiftNow(assignment, starts, ends, running=True))
    return result


def roster_for(*, day: dt.date) -> QuerySet[ShiftAssignment]:
    """The roster of one date, ordered by shift then name."""
    return (
        ShiftAssignment.objects.filter(date=day)
        .select_related("shift", "user", "user__team", "user__department")
        .order_by("shift__starts", "user__role", "user__full_name")
    )
