"""IVR line health, reported by the drivers (decision 0012, "faults").

Each line's driver reports whether its media layer works (`line_health_report`): the
baresip stack checks its processes and control connections every few seconds; an ARI or
event-socket connection that drops reports its line down. A line reported down, or silent
for longer than TELEPHONY_LINE_HEARTBEAT_SECONDS, is a fault: its callers skip the IVR and
go straight to the agents' queue, and the wallboard shows it. A line named "*" stands for
the whole SIP stack. A report older than the stored one (out of order) or repeating the
stored state changes nothing but the time of the last report.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from qingquan.core import clock
from qingquan.core.actors import system
from qingquan.core.audit import audit_record
from qingquan.telephony.models import LineHealth

STACK = "*"


@transaction.atomic
def line_health_report(
    *, line: str, up: bool, detail: str = "", at: dt.datetime | None = None
) -> LineHealth:
    """Record one health report of `line` (its driver's view). A change of state is
    audited (`telephony.line.down` / `telephony.line.up`) and refreshes the wallboard."""
    from qingquan.telephony.services import _push_wallboard

    at = at or clock.now()
    line = (line or STACK)[:20]
    row = LineHealth.objects.select_for_update().filter(line=line).first()
    if row is None:
        try:
            with transaction.atomic():
                row = LineHealth.objects.create(
                    line=line, up=up, since=at, reported_at=at, detail=detail[:200]
                )
        except IntegrityError:  # another report of the same line won the race
            row = LineHealth.objects.select_for_update().get(line=line)
        else:
            if not up:
                _audit(row)
                transaction.on_commit(_push_wallboard, robust=True)
            return row
    if at < row.reported_at:
        return row  # an older report arriving late
    if row.up == up:
        LineHealth.objects.filter(pk=row.pk).update(reported_at=at)
        row.reported_at = at
        return row
    LineHealth.objects.filter(pk=row.pk).update(
        up=up, since=at, reported_at=at, detail=detail[:200]
    )
    row.refresh_from_db()
    _audit(row)
    transaction.on_commit(_push_wallboard, robust=True)
    return row


def _audit(row: LineHealth) -> None:
    audit_record(
        actor=system("ivr"),
        action="telephony.line.up" if row.up else "telephony.line.down",
        obj=row,
        after={"up": row.up, "detail": row.detail},
    )


@dataclass(frozen=True)
class LineFault:
    line: str
    since: dt.datetime
    detail: str
    silent: bool  # no report for longer than the heartbeat


def line_faults(*, now: dt.datetime | None = None) -> list[LineFault]:
    """The lines down now: reported down, or silent past the heartbeat."""
    now = now or clock.now()
    limit = now - dt.timedelta(seconds=int(settings.TELEPHONY_LINE_HEARTBEAT_SECONDS))
    faults = []
    for row in LineHealth.objects.order_by("line"):
        if not row.up:
            faults.append(LineFault(row.line, row.since, row.detail, silent=False))
        elif row.reported_at < limit:
            faults.append(LineFault(row.line, row.reported_at, row.detail, silent=True))
    return faults


def line_is_down(line: str, *, now: dt.datetime | None = None) -> bool:
    """Whether `line` (or the whole stack) is at fault now."""
    return any(f.line in (line, STACK) for f in line_faults(now=now))


def wallboard_faults(*, user: Any) -> list[LineFault]:
    """The line faults for the wallboard (its viewers only)."""
    from qingquan.core.access import AccessDenied
    from qingquan.staff.access import can

    if not can(user, "wallboard.view"):
        raise AccessDenied(capability="wallboard.view")
    return line_faults()
