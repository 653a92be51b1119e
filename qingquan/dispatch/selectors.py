"""Dispatch reads that reach users, each behind its capability: the board (open jobs and
crews with their clocks), a job, the crews suggested for a job with the reasons, a crew
member's jobs, and a case's repair progress for the agents' pages."""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext as _

from qingquan.core import clock
from qingquan.core.db import fastselect
from qingquan.dispatch.errors import NotFound
from qingquan.dispatch.models import (
    OPEN_JOB_STATES,
    PRIORITY_RANK,
    Assignment,
    Crew,
    CrewStatus,
    Job,
    JobKind,
    JobPause,
    JobState,
    Skill,
    case_fields_unread,
)
from qingquan.staff.access import can, check
from qingquan.staff.models import ShiftAssignment

EARTH_KM = 6371.0


def road_factor() -> float:
    return float(getattr(settings, "DISPATCH_ROAD_FACTOR", 1.4))


def speed_kmh() -> float:
    return float(getattr(settings, "DISPATCH_SPEED_KMH", 30.0))


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two (lon, lat) points."""
    lon1, lat1, lon2, lat2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_KM * math.asin(math.sqrt(min(1.0, h)))


# ---------------------------------------------------------------------------
# Clocks
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ClockView:
    """One of a job's clocks as the board shows it."""

    name: str  # "arrive" | "restore"
    deadline: dt.datetime | None
    remaining_seconds: float
    state: str  # ok | warning | breached | paused | met | late
    fraction: float

    @property
    def colour(self) -> str:
        return {"ok": "green", "warning": "amber", "breached": "red", "late": "red"}.get(
            self.state, "grey"
        )


def _clock_view(name: str, status: Any, *, warn: float, done: bool, paused: bool) -> ClockView:
    if done:
        state = "late" if status.breached else "met"
    elif status.breached:
        state = "breached"
    elif paused:
        state = "paused"
    elif status.fraction_used >= warn:
        state = "warning"
    else:
        state = "ok"
    return ClockView(name, status.deadline, status.remaining_seconds, state, status.fraction_used)


def job_clocks(
    job: Job, *, now: dt.datetime, pauses: list[JobPause] | None = None
) -> tuple[ClockView, ClockView]:
    rows = pauses if pauses is not None else list(job.pauses.all())
    arrive, restore = job.clocks(now=now, pauses=rows)
    paused = any(p.ended_at is None for p in rows)
    return (
        _clock_view(
            "arrive", arrive, warn=job.warn_fraction, done=job.arrived_at is not None, paused=False
        ),
        _clock_view(
            "restore",
            restore,
            warn=job.warn_fraction,
            done=job.restored_at is not None or job.state == JobState.CANCELLED,
            paused=paused,
        ),
    )


# ---------------------------------------------------------------------------
# Board
# ---------------------------------------------------------------------------


@dataclass
class JobRow:
    job: Job
    arrive: ClockView
    restore: ClockView
    crews: list[Crew]
    paused: JobPause | None
    calls: int  # cases merged into the job's incident, plus the incident itself


@dataclass
class CrewRow:
    crew: Crew
    on_shift: bool
    load: int
    members: list[Any] = field(default_factory=list)


def _jobs(qs: QuerySet[Job]) -> QuerySet[Job]:
    from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
    from django.db.models.functions import Coalesce

    from qingquan.tickets.models import Ticket

    # A correlated count, not a join with GROUP BY over every column of the job, its
    # case and district (which the board and each crew step's answer paid for).
    merged = (
        Ticket.objects.filter(parent_id=OuterRef("ticket_id"))
        .order_by()
        .values("parent_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        qs.select_related("ticket", "district")
        .defer(*case_fields_unread("number", "parent"))
        .prefetch_related(
            Prefetch("pauses", queryset=JobPause.objects.order_by("started_at")),
            Prefetch(
                "assignments",
                queryset=Assignment.objects.filter(ended_at=None).select_related("crew__team"),
                to_attr="active_assignments",
            ),
        )
        .annotate(merged=Coalesce(Subquery(merged, output_field=IntegerField()), Value(0)))
    )


def _row(job: Job, now: dt.datetime, *, pauses: list[JobPause] | None = None) -> JobRow:
    if pauses is None:
        pauses = list(job.pauses.all())
    arrive, restore = job_clocks(job, now=now, pauses=pauses)
    crews = [a.crew for a in getattr(job, "active_assignments", [])]
    paused = next((p for p in pauses if p.ended_at is None), None)
    return JobRow(job, arrive, restore, crews, paused, getattr(job, "merged", 0) + 1)


def board(
    *, user: Any, district: int | None = None, state: str | None = None, limit: int = 100
) -> list[JobRow]:
    """Open jobs, most urgent first (priority, then the nearest deadline of the clock that
    matters now), filtered by district and state; the clocks of the first `limit`."""
    check(user, "dispatch.view")
    qs = Job.objects.open()
    if district:
        qs = qs.filter(district_id=district)
    if state:
        qs = qs.filter(state=state)
    keys = sorted(
        qs.values_list("pk", "priority", "arrive_deadline", "restore_deadline", "arrived_at"),
        key=lambda r: (
            PRIORITY_RANK.get(r[1], 9),
            (r[2] if r[4] is None else r[3]) or dt.datetime.max.replace(tzinfo=dt.UTC),
            r[0],
        ),
    )[:limit]
    order = {pk: i for i, (pk, *_rest) in enumerate(keys)}
    now = clock.now()
    rows = [_row(j, now) for j in _jobs(Job.objects.filter(pk__in=order))]
    rows.sort(key=lambda r: order[r.job.pk])
    return rows


def board_count(*, user: Any, district: int | None = None, state: str | None = None) -> int:
    check(user, "dispatch.view")
    qs = Job.objects.open()
    if district:
        qs = qs.filter(district_id=district)
    if state:
        qs = qs.filter(state=state)
    return qs.count()


def _on_shift_teams(now: dt.datetime) -> set[int]:
    """Teams with at least one member on a running shift now (from the roster)."""
    at = now.astimezone(clock.SHANGHAI)
    teams: set[int] = set()
    rows = (
        ShiftAssignment.objects.around(at.date())
        .filter(user__is_active=True, user__team__is_crew=True)
        .select_related("shift")
        .values_list("user__team_id", "date", "shift__starts", "shift__ends")
    )
    for team, day, starts, ends in rows:
        start = dt.datetime.combine(day, starts, tzinfo=clock.SHANGHAI)
        end = dt.datetime.combine(day, ends, tzinfo=clock.SHANGHAI)
        if end <= start:
            end += dt.timedelta(days=1)
        if start <= at < end:
            teams.add(team)
    return teams


def _loads() -> Counter[int]:
    return Counter(
        Assignment.objects.filter(ended_at=None, job__state__in=OPEN_JOB_STATES).values_list(
            "crew_id", flat=True
        )
    )


def crews(*, user: Any) -> list[CrewRow]:
    """Every crew with whether it is on shift now and its open jobs."""
    if not (can(user, "dispatch.view") or can(user, "dispatch.crew")):
        check(user, "dispatch.view")
    now = clock.now()
    on = _on_shift_teams(now)
    loads = _loads()
    rows = list(Crew.objects.select_related("team", "district").prefetch_related("team__members"))
    return [
        CrewRow(
            c, c.team_id in on, loads.get(c.pk, 0), [m for m in c.team.members.all() if m.is_active]
        )
        for c in rows
    ]


def case_for_job(*, user: Any, number: str) -> Any:
    """The case (by number) a dispatcher makes a job for: any case of the hotline, as the
    repairs reported anywhere come to the dispatchers; None when there is none."""
    from qingquan.tickets.models import Ticket

    check(user, "dispatch.manage")
    return Ticket.objects.filter(number=(number or "").strip()[:16]).first()


def job_for(*, user: Any, number: str, related: bool = True) -> Job:
    """A job by its number: dispatchers and supervisors any, crew members their crew's.
    `related`: with its case, district and pipe (the job page); the API, whose services
    lock the job afresh and whose answers read it again, takes the job's own row."""
    qs = Job.objects.select_related("ticket", "district", "pipe") if related else Job.objects
    if not can(user, "dispatch.view"):
        check(user, "dispatch.crew")
        qs = qs.filter(assignments__crew__team_id=user.team_id).distinct()
    job = next(iter(qs.filter(number=number).order_by()[:1]), None)  # the number is unique
    if job is None:
        raise NotFound(_("No repair job %(number)s that you may see.") % {"number": number})
    return job


def job_for_step(*, user: Any, number: str) -> tuple[Job, Crew | None]:
    """The job a crew step names and the member's crew, when that crew is on the job now,
    read with precompiled statements (`core.db.fastselect`) for the usual case (a crew
    member on their own job). Otherwise as `job_for`, with no crew: the step's service
    finds the crew or refuses."""
    if not can(user, "dispatch.view") and can(user, "dispatch.crew") and user.team_id:
        found = _own_crew_on(number, team_id=user.team_id)
        if found is not None:
            return found
    return job_for(user=user, number=number, related=False), None


def _own_crew_on(number: str, *, team_id: int) -> tuple[Job, Crew] | None:
    jobs = fastselect.rows(Job, number=number)
    crews = fastselect.rows(Crew, team=team_id)  # a team is at most one crew
    if not jobs or not crews:
        return None
    job, crew = jobs[0], crews[0]
    if fastselect.first_id(Assignment, job=job.pk, crew=crew.pk, ended_at=None) is None:
        return None
    return job, _with_team(crew)


def job_row(job: Job) -> JobRow:
    return _row(_jobs(Job.objects.filter(pk=job.pk)).get(), clock.now())


def job_row_written(job: Job, *, crew: Crew | None = None) -> JobRow:
    """The row of a job a service has just locked and written (its own columns and its
    case as they are in hand): only its pauses, active crews and merged calls are read,
    with precompiled statements (`core.db.fastselect`); `crew`, the acting crew with its
    team, is not read again. A crew step answers with it; compiling the board's query for
    one job cost more than the step itself."""
    from qingquan.tickets.models import Ticket

    pauses = fastselect.rows(JobPause, order_by="started_at", job=job.pk)
    active = fastselect.rows(Assignment, order_by="assigned_at", job=job.pk, ended_at=None)
    for assignment in active:
        if crew is not None and assignment.crew_id == crew.pk:
            assignment.crew = crew
        else:
            assignment.crew = _crew_with_team(assignment.crew_id)
    job.active_assignments = active  # type: ignore[attr-defined]
    job.merged = fastselect.count(Ticket, parent=job.ticket_id)  # type: ignore[attr-defined]
    return _row(job, clock.now(), pauses=pauses)


def _crew_with_team(pk: int) -> Crew:
    return _with_team(fastselect.rows(Crew, id=pk)[0])


def _with_team(crew: Crew) -> Crew:
    """`crew` with its team read by a precompiled statement (the answer names it)."""
    from qingquan.staff.models import Team

    crew.team = fastselect.rows(Team, id=crew.team_id)[0]
    return crew


def job_steps(job: Job) -> list[Any]:
    return list(job.steps.select_related("by", "crew__team").order_by("at", "id"))


def job_crews(job: Job) -> list[Assignment]:
    return list(job.assignments.select_related("crew__team", "assigned_by").order_by("assigned_at"))


# ---------------------------------------------------------------------------
# Suggestion
# ---------------------------------------------------------------------------


def needed_skills(job: Job, *, now: dt.datetime) -> list[str]:
    """What a job asks of a crew: large mains from DN300, valves when the plan closes
    some, meters for meter jobs, night work between 20:00 and 06:00."""
    needed = []
    if job.diameter_mm >= 300:
        needed.append(Skill.LARGE_MAINS)
    if job.valves:
        needed.append(Skill.VALVES)
    if job.kind == JobKind.FROZEN_METER:
        needed.append(Skill.METERS)
    hour = now.astimezone(clock.SHANGHAI).hour
    if hour >= 20 or hour < 6:
        needed.append(Skill.NIGHT)
    return [str(s) for s in needed]


@dataclass
class Suggestion:
    crew: Crew
    rank: int
    on_shift: bool
    missing: list[str]
    load: int
    distance_km: float
    travel_minutes: int
    on_job: bool
    reasons: list[str]
    score: tuple[Any, ...]

    @property
    def eligible(self) -> bool:
        return self.crew.status != CrewStatus.OFF_DUTY and not self.on_job


def suggest(*, user: Any, job: Job, now: dt.datetime | None = None) -> list[Suggestion]:
    """The crews ranked for `job`, best first, each with its reasons: off-duty crews last,
    then crews off shift, then by missing skills, current load (open jobs) and estimated
    travel time (straight-line distance × the road factor at the average speed; stated as
    an estimate, not a route)."""
    check(user, "dispatch.view")
    now = now or clock.now()
    on = _on_shift_teams(now)
    loads = _loads()
    on_job = set(
        Assignment.objects.filter(job=job, ended_at=None).values_list("crew_id", flat=True)
    )
    needed = needed_skills(job, now=now)
    factor, speed = road_factor(), speed_kmh()
    result: list[Suggestion] = []
    for crew in Crew.objects.select_related("team"):
        shift = crew.team_id in on
        missing = [s for s in needed if s not in (crew.skills or [])]
        load = loads.get(crew.pk, 0)
        km = distance_km(crew.position, (job.longitude, job.latitude))
        minutes = round(km * factor / speed * 60)
        reasons = [
            _("on shift") if shift else _("not on shift now"),
            (
                _("has the skills needed (%(s)s)")
                % {"s": ", ".join(str(Skill(s).label) for s in needed)}
                if needed and not missing
                else _("lacks: %(s)s") % {"s": ", ".join(str(Skill(s).label) for s in missing)}
                if missing
                else _("no special skill needed")
            ),
            _("no open job") if load == 0 else _("%(n)d open job(s)") % {"n": load},
            _(
                "about %(min)d min away (%(km).1f km straight line × road factor %(f).1f "
                "at %(v)d km/h)%(where)s"
            )
            % {
                "min": minutes,
                "km": km,
                "f": factor,
                "v": round(speed),
                "where": _(", from the depot") if crew.at_depot else "",
            },
        ]
        if crew.status == CrewStatus.OFF_DUTY:
            reasons.insert(0, _("off duty"))
        if crew.pk in on_job:
            reasons.insert(0, _("already on this job"))
        score = (
            crew.pk in on_job,
            crew.status == CrewStatus.OFF_DUTY,
            not shift,
            len(missing),
            load,
            minutes,
            crew.pk,
        )
        result.append(
            Suggestion(
                crew, 0, shift, missing, load, km, minutes, crew.pk in on_job, reasons, score
            )
        )
    result.sort(key=lambda s: s.score)
    for i, s in enumerate(result, 1):
        s.rank = i
    return result


# ---------------------------------------------------------------------------
# Crew app
# ---------------------------------------------------------------------------


def crew_of_user(user: Any) -> Crew | None:
    if not user.team_id:
        return None
    return Crew.objects.select_related("team").filter(team_id=user.team_id).first()


def my_jobs(*, user: Any) -> list[Job]:
    """The open jobs of the crew member's crew, most urgent first, then the day's done."""
    check(user, "dispatch.crew")
    if not user.team_id:
        return []
    jobs = list(
        Job.objects.filter(
            assignments__crew__team_id=user.team_id,
            assignments__ended_at=None,
            state__in=OPEN_JOB_STATES,
        )
        .select_related("ticket")
        .distinct()
    )
    jobs.sort(key=lambda j: (PRIORITY_RANK.get(j.priority, 9), j.arrive_deadline))
    return jobs


# ---------------------------------------------------------------------------
# A case's repair, for the agents
# ---------------------------------------------------------------------------


@dataclass
class Progress:
    job: Job
    crews: list[str]
    arrive: ClockView
    restore: ClockView
    expected_restoration: dt.datetime | None
    steps_done: list[str]


def _progress(job: Job, now: dt.datetime) -> Progress:
    row = _row(job, now)
    done = [
        str(JobState(s).label) for s in ("accepted", "en_route", "on_site", "repaired", "restored")
    ]
    return Progress(
        job=job,
        crews=[str(c) for c in row.crews],
        arrive=row.arrive,
        restore=row.restore,
        expected_restoration=job.restored_at or row.restore.deadline,
        steps_done=done[: _reached(job)],
    )


def progress_for_case(*, user: Any, ticket: Any) -> list[Progress]:
    """The repair jobs of a case (or of the incident it was merged into), for whoever may
    see the case: state, crews, arrival, and the expected restoration (the restoration
    deadline; the time supply came back once it did)."""
    target = ticket.parent_id or ticket.pk
    jobs = list(_jobs(Job.objects.filter(ticket_id=target)).order_by("created_at"))
    now = clock.now()
    return [_progress(job, now) for job in jobs]


POP_JOBS = 5  # repair lines at most on a screen pop


def repairs_for_pop(*, user: Any, account_ids: list[int], case_ids: set[int]) -> list[Progress]:
    """The screen pop's repair lines: each open repair job on one of the caller's cases (or
    the incident it was merged into, `case_ids` holds both) or whose isolated area holds
    one of the caller's premises (the job's segment and the segments its isolation cuts
    off), most urgent first, at most `POP_JOBS`. For agents (`console.use`) and the
    dispatchers. A bounded number of queries whatever the number of jobs: the open
    jobs' keys, the premises' segments, then the shown jobs with their clocks."""
    if not (can(user, "console.use") or can(user, "dispatch.view")):
        return []
    keys = list(Job.objects.open().values_list("pk", "ticket_id", "segment", "priority"))
    if not keys:
        return []
    hit = {pk for pk, ticket, _seg, _p in keys if ticket in case_ids}
    segments = {seg for _pk, _t, seg, _p in keys if seg is not None}
    if account_ids and segments:
        from qingquan.network.models import PremiseConnection

        mine = set(
            PremiseConnection.objects.filter(premise__accounts__in=account_ids)
            .filter(node__segment__isnull=False)
            .values_list("node__segment", flat=True)
        )
        covering = {seg for seg in segments if mine & _isolated_area(seg)}
        hit |= {pk for pk, _t, seg, _p in keys if seg in covering}
    if not hit:
        return []
    rank = {pk: PRIORITY_RANK.get(p, 9) for pk, _t, _s, p in keys}
    chosen = sorted(hit, key=lambda pk: (rank[pk], pk))[:POP_JOBS]
    now = clock.now()
    jobs = sorted(
        _jobs(Job.objects.filter(pk__in=chosen)), key=lambda j: (rank[j.pk], j.arrive_deadline)
    )
    return [_progress(job, now) for job in jobs]


_areas: dict[tuple[Any, int], frozenset[int]] = {}


def _isolated_area(segment: int) -> frozenset[int]:
    """A segment and the segments its isolation cuts off from every source, on the current
    network graph (kept per graph version)."""
    from qingquan.network import graph as network_graph

    g = network_graph.current()
    key = (g.version, segment)
    area = _areas.get(key)
    if area is None:
        pipes = g.seg_pipes.get(segment)
        cut = network_graph.isolation(g, pipes[0]).cut_off_segments if pipes else []
        area = frozenset({segment, *cut})
        if len(_areas) > 5000:
            _areas.clear()
        _areas[key] = area
    return area


def _reached(job: Job) -> int:
    order = ["accepted", "en_route", "on_site", "repaired", "restored"]
    return order.index(job.state) + 1 if job.state in order else 0
