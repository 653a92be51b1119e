"""Call statistics (R-KPI-5): per period, overall and by hour, IVR line, queue or agent.

Definitions (one place, used by the statistics pages, the exports and the wallboard):

* **offered** — inbound calls that reached the agents' queue: answered + abandoned (calls
  rejected as blocked and calls the IVR served are not offered to agents);
* **answered** — answered by an agent (ended or still talking); **abandoned** — the caller
  hung up before an agent answered, with the average wait before hanging up and how many
  gave up within 10 s, 10–30 s, 30–60 s and after 60 s;
* **answer rate** = answered ÷ offered; **ASA** (average speed of answer) = mean wait of the
  answered; **service level** = answered within 20 s ÷ offered;
* **IVR self-service completion** = calls ending in the IVR with what they came for (a
  bill read out, a callback requested) ÷ calls that entered the IVR;
* **callbacks requested** — requests made in the period; **made** — callbacks whose
  outcome (reached, no answer, wrong number) was recorded in the period, each attempt once
  (`CallbackAttempt`).

Calls count in the period they rang in (local time, Asia/Shanghai).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from qingquan.core import clock
from qingquan.core.access import AccessDenied
from qingquan.staff.access import can
from qingquan.telephony.models import (
    Call,
    CallbackAttempt,
    CallbackRequest,
    CallOutcome,
    CallState,
    Direction,
    queue_label,
)

SERVICE_LEVEL_SECONDS = 20
ABANDON_BUCKETS = ((10, "≤10 s"), (30, "10–30 s"), (60, "30–60 s"), (None, ">60 s"))
BREAKDOWNS = {
    "hour": gettext_lazy("Hour"),
    "line": gettext_lazy("IVR line"),
    "queue": gettext_lazy("Queue"),
    "agent": gettext_lazy("Agent"),
}
COLUMN_TITLES = {
    "label": gettext_lazy("Breakdown"),
    "offered": gettext_lazy("Offered"),
    "answered": gettext_lazy("Answered"),
    "abandoned": gettext_lazy("Abandoned"),
    "abandon_wait": gettext_lazy("Average wait before abandoning (s)"),
    "answer_rate": gettext_lazy("Answer rate"),
    "asa": gettext_lazy("Average speed of answer (s)"),
    "service_level": gettext_lazy("Answered within 20 s"),
    "ivr_calls": gettext_lazy("Calls in the IVR"),
    "ivr_served": gettext_lazy("Served in the IVR"),
    "ivr_completion": gettext_lazy("IVR self-service completion"),
    "callbacks_requested": gettext_lazy("Callbacks requested"),
    "callbacks_made": gettext_lazy("Callbacks made"),
}
RATES = ("answer_rate", "service_level", "ivr_completion")


@dataclass
class CallFigures:
    key: Any
    label: str
    answered: int = 0
    abandoned: int = 0
    answer_waits: list[int] = field(default_factory=list)
    abandon_waits: list[int] = field(default_factory=list)
    ivr_calls: int = 0
    ivr_served: int = 0
    callbacks_requested: int = 0
    callbacks_made: int = 0

    @property
    def offered(self) -> int:
        return self.answered + self.abandoned

    @property
    def answer_rate(self) -> float | None:
        return self.answered / self.offered if self.offered else None

    @property
    def asa(self) -> int | None:
        waits = self.answer_waits
        return round(sum(waits) / len(waits)) if waits else None

    @property
    def service_level(self) -> float | None:
        quick = sum(1 for w in self.answer_waits if w <= SERVICE_LEVEL_SECONDS)
        return quick / self.offered if self.offered else None

    @property
    def abandon_wait(self) -> int | None:
        waits = self.abandon_waits
        return round(sum(waits) / len(waits)) if waits else None

    @property
    def abandon_buckets(self) -> list[tuple[str, int]]:
        counts = []
        lower = -1
        for upper, label in ABANDON_BUCKETS:
            n = sum(1 for w in self.abandon_waits if w > lower and (upper is None or w <= upper))
            counts.append((label, n))
            lower = upper if upper is not None else lower
        return counts

    @property
    def ivr_completion(self) -> float | None:
        return self.ivr_served / self.ivr_calls if self.ivr_calls else None

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in COLUMN_TITLES} | {"key": self.key}


def _check(user: Any) -> None:
    if not (can(user, "reports.view") or can(user, "wallboard.view")):
        raise AccessDenied(capability="reports.view")


def _local(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(clock.SHANGHAI)


def _wait(start: dt.datetime, end: dt.datetime | None) -> int:
    return max(int((end - start).total_seconds()), 0) if end else 0


def call_figures(
    *, user: Any, start: dt.datetime, end: dt.datetime, by: str | None = None
) -> list[CallFigures]:
    """The figures of calls that rang in ``[start, end)``: one row overall (``by`` None),
    else one per hour of the day, IVR line, queue or agent (ordered by key). Readers of the
    statistics or the wallboard only."""
    _check(user)
    if by is not None and by not in BREAKDOWNS:
        raise ValueError(_("Unknown breakdown %(by)s.") % {"by": by})
    rows: dict[Any, CallFigures] = {}
    names: dict[int, str] = {}

    def row(key: Any) -> CallFigures:
        if key not in rows:
            rows[key] = CallFigures(key=key, label="")
        return rows[key]

    calls = Call.objects.filter(
        rang_at__gte=start, rang_at__lt=end, direction=Direction.INBOUND
    ).values_list(
        "rang_at", "answered_at", "ended_at", "state", "outcome", "line", "queue", "agent_id"
    )
    for rang, answered, ended, state, outcome, line, queue, agent in calls:
        keys = {"hour": _local(rang).hour, "line": line, "queue": queue, "agent": agent}
        figures = row(keys[by] if by else None)
        if line:
            figures.ivr_calls += 1
        if outcome == CallOutcome.SELF_SERVICE:
            figures.ivr_served += 1
        elif outcome == CallOutcome.ANSWERED or (state == CallState.ANSWERED and answered):
            figures.answered += 1
            figures.answer_waits.append(_wait(rang, answered))
        elif outcome == CallOutcome.ABANDONED:
            figures.abandoned += 1
            figures.abandon_waits.append(_wait(rang, ended))
    _count_callbacks(row, by, start, end)
    if by == "agent":
        from qingquan.staff.models import User

        ids = [k for k in rows if k]
        names = {u.pk: u.get_full_name() or u.username for u in User.objects.filter(pk__in=ids)}
    for key, figures in rows.items():
        figures.label = _label(by, key, names)
    if by is None:
        return [rows.get(None) or CallFigures(key=None, label=_("All calls"))]
    return [rows[k] for k in sorted(rows, key=lambda k: (k is None or k == "", str(k).zfill(3)))]


def _count_callbacks(row: Any, by: str | None, start: dt.datetime, end: dt.datetime) -> None:
    requested = CallbackRequest.objects.filter(created_at__gte=start, created_at__lt=end)
    for created, skill, line, in_queue in requested.values_list(
        "created_at", "skill", "call__line", "call__queue"
    ):
        keys = {"hour": _local(created).hour, "line": line or "", "queue": skill or in_queue}
        # Requested callbacks have no agent yet: in the agent breakdown they are "none".
        row(keys.get(by, "") if by else None).callbacks_requested += 1
    attempts = CallbackAttempt.objects.filter(at__gte=start, at__lt=end).values_list(
        "at", "agent_id", "request__skill", "request__call__line"
    )
    for at, agent, skill, line in attempts:
        keys = {"hour": _local(at).hour, "agent": agent, "queue": skill, "line": line or ""}
        row(keys[by] if by else None).callbacks_made += 1


def _label(by: str | None, key: Any, names: dict[int, str]) -> str:
    if by is None:
        return _("All calls")
    if key in (None, ""):
        return _("none")
    if by == "hour":
        return f"{int(key):02d}:00–{int(key):02d}:59"
    if by == "agent":
        return names.get(key, str(key))
    if by == "queue":
        return queue_label(str(key))
    return str(key)


def total_of(rows: list[CallFigures]) -> CallFigures:
    """The overall figures of a breakdown's rows (every call is in exactly one row)."""
    total = CallFigures(key=None, label=_("All calls"))
    for row in rows:
        total.answered += row.answered
        total.abandoned += row.abandoned
        total.answer_waits += row.answer_waits
        total.abandon_waits += row.abandon_waits
        total.ivr_calls += row.ivr_calls
        total.ivr_served += row.ivr_served
        total.callbacks_requested += row.callbacks_requested
        total.callbacks_made += row.callbacks_made
    return total


def today_figures(*, user: Any, now: dt.datetime | None = None) -> CallFigures:
    """Today's overall figures (the wallboard)."""
    local = _local(now or clock.now())
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return call_figures(user=user, start=start, end=start + dt.timedelta(days=1))[0]
