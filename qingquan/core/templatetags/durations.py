"""Template filters over ``qingquan.core.durations`` (the one duration formatter).

``{{ seconds|duration }}``, ``{{ seconds|remaining }}``, ``{{ seconds|remaining:"working" }}``
(working-day clocks), ``{{ deadline|due }}`` and ``{% deadline_badge ... %}``, the coloured
deadline with its date, time and what is left, used by every page that shows a time limit.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import template

from qingquan.core import clock, durations

register = template.Library()


@register.filter
def duration(seconds: float | None, unit: str = "") -> str:
    """Seconds in words: 4 380 → "1 小时 13 分"."""
    return durations.duration_text(seconds, working_days=unit == "working")


@register.filter
def remaining(seconds: float | None, unit: str = "") -> str:
    """Remaining seconds of a limit: "剩余 …" or "已超时 …"."""
    return durations.remaining_text(seconds, working_days=unit == "working")


@register.filter
def elapsed(seconds: float | None, unit: str = "") -> str:
    """Counted seconds: "已计时 …"."""
    return durations.elapsed_text(seconds, working_days=unit == "working")


@register.filter
def due(deadline: dt.datetime | None) -> str:
    """A deadline by the wall clock: "截止 2026-12-05 17:30，剩余 2 天 3 小时"."""
    return durations.deadline_text(deadline)


@register.inclusion_tag("core/_deadline.html")
def deadline_badge(
    deadline: dt.datetime | None, state: str = "", remaining: Any = None, working: bool = False
) -> dict[str, Any]:
    """A deadline coloured by its state (on time / warning / overdue) with its date and time
    and the time left or over; ``remaining`` (counted seconds) when the caller has it, else
    the wall-clock time to the deadline. A deadline already past is shown overdue even if
    the stored state (refreshed by the periodic sweep) does not say so yet."""
    live = durations.deadline_state(deadline)
    if not state or live == "breached":
        state = live
    if remaining is not None and remaining < 0:
        state = "breached"
    if remaining is None:
        text = durations.deadline_text(deadline)
    else:
        text = durations.remaining_text(remaining, working_days=bool(working))
    return {"deadline": deadline, "state": state, "text": text, "counted": remaining is not None}


@register.filter
def since(moment: dt.datetime | None) -> str:
    """How long ago ``moment`` was, by ``core.clock``: "2 分 5 秒"."""
    if moment is None:
        return "—"
    return durations.duration_text((clock.now() - moment).total_seconds())
