"""Durations and time limits in words people use: "剩余 1 个工作日 3 小时", "已超时 8 小时 29 分"
("1 working day 3 h left", "8 h 29 min overdue").

The one formatting function of the project (issue #14 item 2): pages (through the
``durations`` template filters), exports and the API's ``*_text`` fields all call it, so a
duration reads the same everywhere. Numbers stay numbers where machines read them (the API
keeps ``*_seconds``); these strings are for people.

A working-day clock counts 86 400 s per working day (``core.sla``), so its durations are
said in working days ("个工作日"); every other duration in calendar days ("天").
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from qingquan.core import clock

_DAY = 86_400
_HOUR = 3_600
_MINUTE = 60


def _unit(name: str, n: int) -> str:
    if name == "working_day":
        return ngettext("%(n)d working day", "%(n)d working days", n) % {"n": n}
    if name == "day":
        return ngettext("%(n)d day", "%(n)d days", n) % {"n": n}
    if name == "hour":
        return ngettext("%(n)d h", "%(n)d h", n) % {"n": n}
    if name == "minute":
        return ngettext("%(n)d min", "%(n)d min", n) % {"n": n}
    return ngettext("%(n)d s", "%(n)d s", n) % {"n": n}


def duration_text(seconds: float | None, *, working_days: bool = False, parts: int = 2) -> str:
    """``seconds`` (its absolute value) in at most ``parts`` units, largest first, cut (not
    rounded up) to the smallest unit shown: 97 740 s → "1 天 3 小时" / "1 day 3 h".
    Seconds are shown only under a minute; ``None`` gives "—"."""
    if seconds is None:
        return "—"
    total = int(abs(seconds))
    if total < _MINUTE:
        return _unit("second", total)
    units = [
        ("working_day" if working_days else "day", _DAY),
        ("hour", _HOUR),
        ("minute", _MINUTE),
    ]
    shown: list[str] = []
    for name, size in units:
        amount, total = divmod(total, size)
        if amount or shown:
            if amount:
                shown.append(_unit(name, amount))
            parts -= 1
            if parts == 0:
                break
    return " ".join(shown)


def remaining_text(seconds: float | None, *, working_days: bool = False) -> str:
    """What is left of a time limit: "剩余 1 个工作日 3 小时" / "1 working day 3 h left";
    past it: "已超时 8 小时 29 分" / "8 h 29 min overdue"; under a minute either way:
    "即将到期" / "due now"."""
    if seconds is None:
        return "—"
    if abs(seconds) < _MINUTE:
        return _("due now")
    text = duration_text(seconds, working_days=working_days)
    if seconds > 0:
        return _("%(duration)s left") % {"duration": text}
    return _("%(duration)s overdue") % {"duration": text}


def elapsed_text(seconds: float | None, *, working_days: bool = False) -> str:
    """Time counted so far: "已计时 2 个工作日 1 小时" / "2 working days 1 h counted"."""
    if seconds is None:
        return "—"
    return _("%(duration)s counted") % {
        "duration": duration_text(seconds, working_days=working_days)
    }


def deadline_state(
    deadline: dt.datetime | None,
    *,
    warn_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> str:
    """ "ok", "warning" or "breached" for colouring (the same names as ``SlaState``)."""
    if deadline is None:
        return "paused"
    now = now or clock.now()
    if now > deadline:
        return "breached"
    if warn_at is not None and now >= warn_at:
        return "warning"
    return "ok"


def deadline_text(deadline: dt.datetime | None, *, now: dt.datetime | None = None) -> str:
    """A deadline by the wall clock, with its date and time: "截止 12-05 17:30，剩余 2 天 3 小时" /
    "due 12-05 17:30, 2 days 3 h left" (for lists, where the counted time is not at hand)."""
    if deadline is None:
        return "—"
    now = now or clock.now()
    local = deadline.astimezone(clock.SHANGHAI)
    when = formats.date_format(local, "Y-m-d H:i")
    left = (deadline - now).total_seconds()
    return _("due %(when)s, %(remaining)s") % {"when": when, "remaining": remaining_text(left)}


def clock_texts(facts: Any, *, working_days: bool) -> dict[str, str]:
    """The human texts of a case's clock facts (``tickets.clocks.ClockFacts``) for the API."""
    return {
        "remaining_text": remaining_text(facts.remaining_seconds, working_days=working_days),
        "elapsed_text": elapsed_text(facts.elapsed_seconds, working_days=working_days),
        "deadline_text": (
            formats.date_format(facts.deadline.astimezone(clock.SHANGHAI), "Y-m-d H:i")
            if facts.deadline
            else ""
        ),
    }
