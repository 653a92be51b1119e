"""Repair dispatch statistics (#17 item 8, R-KPI-3; item 7's referrals), for the
statistics pages and their exports (`qingquan.reports` calls these selectors).

Definitions (each job made in the period, cancelled jobs left out):
* arrival on time: the crew arrived by the job's arrival deadline; late: it arrived after
  it, or has not arrived and the deadline has passed; rate = on time ÷ (on time + late)
  (jobs still inside their budget are in neither);
* restoration on time / late: the same on the restoration clock (paused intervals waiting
  for a road permit or the customer do not count, as on the board);
* customer-minutes without water: premises the job's isolation cuts off × minutes from the
  job's making until supply was restored (until now while it is not);
* by crew: each crew still on the job when it ended (a crew taken off by a reassignment
  does not carry it); by shift: crew × the roster shift its member was on when the crew
  was sent ("off the roster" when none).

Referrals: counted in the month they were made, by partner, by case kind and by month.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from qingquan.core import clock
from qingquan.dispatch.models import Assignment, Job, JobPause, JobState, Referral
from qingquan.staff.access import can

BREAKDOWNS = {
    "crew": gettext_lazy("Crew"),
    "district": gettext_lazy("District"),
    "month": gettext_lazy("Month"),
    "shift": gettext_lazy("Crew and shift"),
}
METRICS = ("jobs", "arrive_on_time", "arrive_late", "restore_on_time", "restore_late")
REFERRAL_BREAKDOWNS = {
    "partner": gettext_lazy("Referral partner"),
    "kind": gettext_lazy("Kind"),
    "month": gettext_lazy("Month"),
}


class KpiError(ValueError):
    """Bad parameters of a repair statistic (a 400 with a message)."""


def may_read(user: Any) -> bool:
    """Repair statistics are the whole utility's: supervisors, administrators, dispatchers."""
    return can(user, "reports.view_all") or can(user, "dispatch.view")


def _check(user: Any) -> None:
    if not may_read(user):
        raise PermissionError("reports.view_all")


@dataclass
class RepairRow:
    key: str
    label: str
    jobs: int = 0
    arrive_on_time: int = 0
    arrive_late: int = 0
    restore_on_time: int = 0
    restore_late: int = 0
    customer_minutes: int = 0

    @property
    def arrive_rate(self) -> float | None:
        timed = self.arrive_on_time + self.arrive_late
        return self.arrive_on_time / timed if timed else None

    @property
    def restore_rate(self) -> float | None:
        timed = self.restore_on_time + self.restore_late
        return self.restore_on_time / timed if timed else None

    def add(self, facts: dict[str, Any]) -> None:
        self.jobs += 1
        for metric in METRICS[1:]:
            setattr(self, metric, getattr(self, metric) + int(facts[metric]))
        self.customer_minutes += facts["customer_minutes"]


def _facts(job: Job, pauses: list[JobPause], now: dt.datetime) -> dict[str, Any]:
    arrive, restore = job.clocks(now=now, pauses=pauses)
    end = job.restored_at or now
    return {
        "arrive_on_time": job.arrived_at is not None and not arrive.breached,
        "arrive_late": arrive.breached,
        "restore_on_time": job.restored_at is not None and not restore.breached,
        "restore_late": restore.breached,
        "customer_minutes": round(
            job.affected_premises * max((end - job.created_at).total_seconds(), 0) / 60
        ),
    }


def _jobs(start: dt.datetime, end: dt.datetime) -> list[Job]:
    return list(
        Job.objects.filter(created_at__gte=start, created_at__lt=end)
        .exclude(state=JobState.CANCELLED)
        .select_related("district", "ticket")
        .prefetch_related("pauses")
        .order_by("created_at", "pk")
    )


def _month(at: dt.datetime) -> str:
    return at.astimezone(clock.SHANGHAI).strftime("%Y-%m")


def _carriers(jobs: list[Job]) -> dict[int, list[Assignment]]:
    """Per job, the assignments of the crews still on it when it ended (or now)."""
    result: dict[int, list[Assignment]] = defaultdict(list)
    ends = {j.pk: j.restored_at for j in jobs}
    rows = Assignment.objects.filter(job_id__in=list(ends)).select_related("crew__team")
    for a in rows:
        done = ends[a.job_id]
        if a.ended_at is None or (done is not None and a.ended_at >= done):
            result[a.job_id].append(a)
    return result


def _shift_of(assignments: list[Assignment]) -> dict[int, tuple[str, str]]:
    """Per assignment, the (code, name) of the roster shift a member of its crew was on
    when the crew was sent."""
    from qingquan.staff.models import ShiftAssignment

    if not assignments:
        return {}
    days = [a.assigned_at.astimezone(clock.SHANGHAI).date() for a in assignments]
    teams = {a.crew.team_id for a in assignments}
    roster: dict[int, list[tuple[dt.datetime, dt.datetime, str, str]]] = defaultdict(list)
    rows = ShiftAssignment.objects.filter(
        user__team_id__in=teams, date__range=(min(days) - dt.timedelta(days=1), max(days))
    ).values_list(
        "user__team_id", "date", "shift__starts", "shift__ends", "shift__code", "shift__name"
    )
    for team, day, starts, ends, code, name in rows:
        begin = dt.datetime.combine(day, starts, tzinfo=clock.SHANGHAI)
        finish = dt.datetime.combine(day, ends, tzinfo=clock.SHANGHAI)
        if finish <= begin:
            finish += dt.timedelta(days=1)
        roster[team].append((begin, finish, code, name))
    found = {}
    for a in assignments:
        hit = next((r for r in roster[a.crew.team_id] if r[0] <= a.assigned_at < r[1]), None)
        found[a.pk] = (hit[2], hit[3]) if hit else ("", str(_("off the roster")))
    return found


def _keys(
    job: Job, by: str | None, carriers: list[Assignment], shifts: dict[int, Any]
) -> list[tuple[str, str]]:
    if by is None:
        return [("", str(_("All repair jobs")))]
    if by == "district":
        return [
            (
                str(job.district_id or ""),
                job.district.name if job.district else str(_("No district")),
            )
        ]
    if by == "month":
        month = _month(job.created_at)
        return [(month, month)]
    if by == "crew":
        return [(str(a.crew_id), str(a.crew)) for a in carriers] or [("", str(_("No crew")))]
    if by == "shift":
        return [
            (f"{a.crew_id}:{shifts[a.pk][0]}", f"{a.crew} · {shifts[a.pk][1]}") for a in carriers
        ] or [("", str(_("No crew")))]
    raise KpiError(_("Unknown breakdown %(by)s.") % {"by": by})


def _classified(
    start: dt.datetime, end: dt.datetime, by: str | None
) -> list[tuple[Job, list[tuple[str, str]], dict[str, Any]]]:
    if by is not None and by not in BREAKDOWNS:
        raise KpiError(_("Unknown breakdown %(by)s.") % {"by": by})
    now = clock.now()
    jobs = _jobs(start, end)
    carriers = _carriers(jobs) if by in ("crew", "shift") else {}
    shifts = _shift_of([a for rows in carriers.values() for a in rows]) if by == "shift" else {}
    return [
        (
            job,
            _keys(job, by, carriers.get(job.pk, []), shifts),
            _facts(job, list(job.pauses.all()), now),
        )
        for job in jobs
    ]


def repair_table(
    *, user: Any, start: dt.datetime, end: dt.datetime, by: str | None = None
) -> list[RepairRow]:
    """The repair figures of the jobs made in [start, end): one row overall, or one per
    value of the breakdown (`BREAKDOWNS`), in label order (months in order)."""
    _check(user)
    rows: dict[str, RepairRow] = {}
    for _job, keys, facts in _classified(start, end, by):
        for key, label in keys:
            rows.setdefault(key, RepairRow(key, label)).add(facts)
    if by is None and not rows:
        rows[""] = RepairRow("", str(_("All repair jobs")))
    return sorted(rows.values(), key=lambda r: (r.key if by == "month" else r.label, r.key))


def repair_key_label(
    *, user: Any, start: dt.datetime, end: dt.datetime, by: str, key: str
) -> str | None:
    """A breakdown value's name as `repair_table` shows it (a crew's name and shift, not
    the crew's id), for the drill-down's heading."""
    rows = repair_table(user=user, start=start, end=end, by=by)
    return next((row.label for row in rows if row.key == key), None)


def repair_jobs_behind(
    *, user: Any, start: dt.datetime, end: dt.datetime, metric: str, by: str | None, key: str | None
) -> list[Job]:
    """The jobs behind one figure of `repair_table` (drill-down)."""
    _check(user)
    if metric not in METRICS:
        raise KpiError(_("Unknown figure %(metric)s.") % {"metric": metric})
    return [
        job
        for job, keys, facts in _classified(start, end, by)
        if (metric == "jobs" or facts[metric]) and (by is None or any(k == key for k, _l in keys))
    ]


@dataclass
class ReferralRow:
    key: str
    label: str
    count: int


def referral_table(
    *, user: Any, start: dt.datetime, end: dt.datetime, by: str
) -> list[ReferralRow]:
    """Referrals made in [start, end) counted by partner, case kind or month."""
    _check(user)
    if by not in REFERRAL_BREAKDOWNS:
        raise KpiError(_("Unknown breakdown %(by)s.") % {"by": by})
    counts: dict[tuple[str, str], int] = defaultdict(int)
    rows = Referral.objects.filter(created_at__gte=start, created_at__lt=end).values_list(
        "partner_id", "partner__name", "ticket__kind__code", "ticket__kind__name", "created_at"
    )
    for partner, name, kind, kind_name, at in rows:
        key = {"partner": (str(partner), name), "kind": (kind, kind_name)}.get(by)
        if key is None:
            key = (_month(at), _month(at))
        counts[key] += 1
    return sorted(
        (ReferralRow(k, label, n) for (k, label), n in counts.items()),
        key=lambda r: (r.key if by == "month" else r.label, r.key),
    )


def referrals_behind(
    *, user: Any, start: dt.datetime, end: dt.datetime, by: str | None, key: str | None
) -> Any:
    """The referrals behind one count of `referral_table` (drill-down)."""
    _check(user)
    qs = Referral.objects.filter(created_at__gte=start, created_at__lt=end).select_related(
        "partner", "ticket__kind", "created_by"
    )
    if by == "partner" and key is not None:
        qs = qs.filter(partner_id=int(key) if key.isdigit() else None)
    elif by == "kind" and key is not None:
        qs = qs.filter(ticket__kind__code=key)
    elif by == "month" and key is not None:
        return [r for r in qs if _month(r.created_at) == key]
    elif by is not None and by not in REFERRAL_BREAKDOWNS:
        raise KpiError(_("Unknown breakdown %(by)s.") % {"by": by})
    return list(qs)
