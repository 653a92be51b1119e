"""Repair dispatch (issue 17) with 50 crews and 500 open jobs (scaled down by `--scale`,
never below 16 crews and 50 jobs; the data is topped up, not rebuilt):

- the crews suggested for a job (ranked with their reasons) against reading the same
  rows raw (crews, open assignments, the roster) — target: median < 50 ms;
- the dispatcher's board page (GET /dispatch/, the 100 most urgent clocks, the crews,
  over HTTP) against the bare home endpoint — target: median < 300 ms;
- a crew step through the API (POST /api/v1/dispatch/jobs/{n}/steps, a note step: the
  step row, the job's version, the case's timeline entry, the audit row, the board push)
  against a bare ASGI endpoint doing the same auth work and writing the same rows with
  raw SQL, 16 clients at once, each a member of a crew of its own on its own job —
  target: ≥ 50 % of the bare endpoint's throughput (time ratio ≤ 2×).

    .venv/bin/python -m bench -k dispatch --scale 0.1
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from typing import Any

import httpx
from asgiref.sync import sync_to_async

# A module import, read at call time: bench.asgi imports every bench module while
# bench_tickets itself is still being imported (a name import would find it half-made).
from bench import bench_tickets
from bench.asgi import bare
from bench.context import BenchContext, bench_user, login_cookie
from bench.harness import Comparison

CLIENTS = 16
CREWS = 50
JOBS = 500
SUBJECT = "基准抢修"
TEMPLATE_NOTE = "基准模板步骤"
TEMPLATES: dict[str, Any] = {}


def _organisation(crews: int) -> tuple[Any, Any, list[Any]]:
    """The bench's dispatcher, an agent, and `crews` crews with a member each (created
    once; depots spread over central Ningbo)."""
    from qingquan.dispatch.models import Crew
    from qingquan.staff.models import Department, Team
    from qingquan.staff.roles import DepartmentKind, Role

    repair, _ = Department.objects.get_or_create(
        code="bench-repair", defaults={"name": "基准抢修部", "kind": DepartmentKind.REPAIR}
    )
    dispatcher = bench_user(
        "bench-dispatcher", "基准调度员", role=Role.DISPATCHER, department=repair
    )
    agent = bench_user("bench-dispatch-agent", "基准话务员")
    members = []
    for n in range(crews):
        team, _ = Team.objects.get_or_create(
            code=f"bench-crew-{n:02d}",
            defaults={"name": f"基准抢修{n:02d}队", "department": repair, "is_crew": True},
        )
        Crew.objects.get_or_create(
            team=team,
            defaults={
                "skills": ["valves", "large_mains"] if n % 2 else ["meters", "night"],
                "vehicle": f"浙B·J{n:04d}",
                "depot_longitude": 121.45 + (n % 10) * 0.02,
                "depot_latitude": 29.80 + (n // 10) * 0.03,
            },
        )
        members.append(
            bench_user(
                f"bench-crew-member-{n:02d}",
                f"基准队员{n:02d}",
                role=Role.CREW,
                department=repair,
                team=team,
            )
        )
    return dispatcher, agent, members


def _jobs(dispatcher: Any, agent: Any, wanted: int) -> list[Any]:
    """At least `wanted` open bench jobs, each on a case of its own at a point."""
    from qingquan.dispatch import services
    from qingquan.dispatch.models import Job
    from qingquan.tickets import services as tickets
    from qingquan.tickets.models import CaseKind

    open_jobs = list(Job.objects.open().filter(ticket__subject__startswith=SUBJECT).order_by("pk"))
    kinds = list(CaseKind.objects.filter(code__in=("repair-burst", "repair-leak", "repair-meter")))
    for n in range(len(open_jobs), wanted):
        case = tickets.ticket_create(
            actor=agent,
            kind=kinds[n % len(kinds)],
            channel="phone",
            subject=f"{SUBJECT} {n}",
            caller_phone="13800000000",
        )
        open_jobs.append(
            services.job_create(
                actor=dispatcher,
                ticket=case,
                lon=121.45 + (n * 7 % 100) * 0.002,
                lat=29.80 + (n * 13 % 100) * 0.002,
            )
        )
    return open_jobs[:wanted]


def _client_jobs(dispatcher: Any, members: list[Any], jobs: list[Any]) -> list[str]:
    """Job numbers of the 16 clients: client i's crew (bench crew i) is on job i."""
    from qingquan.dispatch import services
    from qingquan.dispatch.models import Assignment, Crew, Job

    numbers = []
    for member, job in zip(members[:CLIENTS], jobs[:CLIENTS], strict=True):
        crew = Crew.objects.get(team_id=member.team_id)
        if not Assignment.objects.filter(job=job, crew=crew, ended_at=None).exists():
            fresh = Job.objects.get(pk=job.pk)
            services.job_assign(
                actor=dispatcher, job=fresh, crew=crew, version=fresh.version, add=True
            )
        numbers.append(job.number)
    return numbers


def _template(member: Any, number: str) -> None:
    """One note step made the platform's way; its rows are the templates for raw SQL."""
    from qingquan.dispatch import services
    from qingquan.dispatch.models import Job

    services.step_record(
        actor=member,
        job=Job.objects.get(number=number),
        kind="note",
        client_id=f"bench-template-{uuid.uuid4()}",
        note=TEMPLATE_NOTE,
    )


def _load_templates() -> None:
    from qingquan.core.models import AuditEvent
    from qingquan.dispatch.models import JobStep
    from qingquan.tickets.models import TicketEvent

    if TEMPLATES:
        return
    step = JobStep.objects.filter(note=TEMPLATE_NOTE).latest("id")
    TEMPLATES["dispatch_jobstep"] = bench_tickets._row("dispatch_jobstep", step.pk)
    event = TicketEvent.objects.filter(action="job_note", note=TEMPLATE_NOTE).latest("id")
    TEMPLATES["tickets_ticketevent"] = bench_tickets._row("tickets_ticketevent", event.pk)
    audit = AuditEvent.objects.filter(action="dispatch.step.note").latest("id")
    TEMPLATES["core_auditevent"] = bench_tickets._row("core_auditevent", audit.pk)


def _bare_step(number: str, note: str, headers: list[tuple[bytes, bytes]]) -> bool:
    """What POST …/steps does, with raw SQL: session, user and CSRF; the job (locked) and
    the member's crew on it; the step row, the job's new version, the case's timeline entry
    and the audit row."""
    from django.db import connection, transaction

    _load_templates()
    authenticated = bench_tickets._authenticate(headers)
    if authenticated is None:
        return False
    user_id, label = authenticated
    now = dt.datetime.now(dt.UTC)
    lock = " FOR UPDATE" if connection.vendor == "postgresql" else ""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, ticket_id, version FROM dispatch_job WHERE number = %s{lock}",
            [number],
        )
        job_id, ticket_id, version = cursor.fetchone()
        cursor.execute(
            "SELECT c.id FROM dispatch_crew c JOIN dispatch_assignment a ON a.crew_id = c.id "
            "JOIN staff_user u ON u.team_id = c.team_id "
            "WHERE u.id = %s AND a.job_id = %s AND a.ended_at IS NULL",
            [user_id, job_id],
        )
        crew = cursor.fetchone()
        if crew is None:
            return False
        bench_tickets._insert(
            cursor,
            "dispatch_jobstep",
            {
                **TEMPLATES["dispatch_jobstep"],
                "job_id": job_id,
                "crew_id": crew[0],
                "client_id": uuid.uuid4().hex,
                "at": now,
                "received_at": now,
                "by_id": user_id,
                "note": note,
            },
        )
        cursor.execute("UPDATE dispatch_job SET version = %s WHERE id = %s", [version + 1, job_id])
        bench_tickets._insert(
            cursor,
            "tickets_ticketevent",
            {**TEMPLATES["tickets_ticketevent"], "ticket_id": ticket_id, "actor_id": user_id,
             "at": now, "note": note},
        )  # fmt: skip
        bench_tickets._insert(
            cursor,
            "core_auditevent",
            {**TEMPLATES["core_auditevent"], "actor_id": user_id, "actor_label": label,
             "object_id": str(job_id), "at": now},
        )  # fmt: skip
    return True


@bare("/__bench/bare-crew-step")
async def bare_crew_step(scope: dict[str, Any], receive: Any, send: Any) -> None:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    payload = json.loads(body or b"{}")
    ok = await sync_to_async(_bare_step)(
        payload.get("number", ""), payload.get("note", ""), scope["headers"]
    )
    await send(
        {
            "type": "http.response.start",
            "status": 200 if ok else 403,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send(
        {"type": "http.response.body", "body": b'{"ok": %s}' % (b"true" if ok else b"false")}
    )


def _steps(
    base: str, sessions: list[dict[str, str]], numbers: list[str], bare_path: bool, n: int
) -> Any:
    """n note steps shared among the 16 clients, each a crew member on its crew's job."""

    async def run() -> None:
        clients = [httpx.AsyncClient(base_url=base, cookies=c, timeout=60) for c in sessions]
        queue = list(range(n))

        async def worker(client: httpx.AsyncClient, number: str) -> None:
            while queue:
                queue.pop()
                if bare_path:
                    path, payload = "/__bench/bare-crew-step", {"number": number, "note": "基准"}
                else:
                    path = f"/api/v1/dispatch/jobs/{number}/steps"
                    payload = {"id": uuid.uuid4().hex, "kind": "note", "note": "基准"}
                response = await client.post(
                    path,
                    json=payload,
                    headers={"X-CSRFToken": bench_tickets.CSRF, "Referer": base + "/"},
                )
                assert response.status_code == 200, (response.status_code, response.text[:300])

        try:
            await asyncio.gather(*(worker(c, num) for c, num in zip(clients, numbers, strict=True)))
        finally:
            for client in clients:
                await client.aclose()

    return lambda: asyncio.run(run())


def _get(base: str, cookies: dict[str, str], path: str) -> Any:
    client = httpx.Client(base_url=base, cookies=cookies, timeout=60)

    def call() -> None:
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)

    return call


def cases(ctx: BenchContext) -> list[Comparison]:
    from qingquan.dispatch import selectors
    from qingquan.dispatch.models import Assignment, Crew
    from qingquan.staff.models import ShiftAssignment

    crews = max(CLIENTS, round(CREWS * min(ctx.scale * 10, 1)))
    wanted = max(50, round(JOBS * min(ctx.scale * 10, 1)))
    dispatcher, agent, members = _organisation(crews)
    jobs = _jobs(dispatcher, agent, wanted)
    numbers = _client_jobs(dispatcher, members, jobs)
    _template(members[0], numbers[0])
    _load_templates()
    target = jobs[len(jobs) // 2]

    def suggest() -> None:
        selectors.suggest(user=dispatcher, job=target)

    def raw_rows() -> None:
        fields = ("pk", "team_id", "skills", "status", "depot_longitude", "depot_latitude")
        list(Crew.objects.values_list(*fields, "last_longitude", "last_latitude"))
        list(Assignment.objects.filter(ended_at=None).values_list("crew_id", "job__state"))
        list(ShiftAssignment.objects.filter(user__team__is_crew=True).values_list("user__team_id"))

    base = ctx.server()
    dispatcher_cookies = login_cookie(dispatcher)
    sessions = [{**login_cookie(m), "csrftoken": bench_tickets.CSRF} for m in members[:CLIENTS]]
    per_round = 64
    scale_note = f"{crews} crews, {len(jobs)} open bench jobs"
    return [
        Comparison(
            name=f"dispatch: crews suggested for a job ({scale_note})",
            baseline_label="the same rows read raw (ORM values)",
            subject_label="selectors.suggest (ranked, with reasons)",
            baseline=raw_rows,
            subject=suggest,
            iterations=100,
            warmup=5,
            max_subject_ms=50.0,
        ),
        Comparison(
            name=f"dispatch: the board page ({scale_note})",
            baseline_label="bare ASGI home (session, user, shifts, unread)",
            subject_label="GET /dispatch/",
            baseline=_get(base, dispatcher_cookies, "/__bench/bare-home"),
            subject=_get(base, dispatcher_cookies, "/dispatch/"),
            iterations=40,
            warmup=3,
            max_subject_ms=300.0,
        ),
        Comparison(
            name=f"dispatch: a crew step, {CLIENTS} concurrent clients",
            baseline_label="bare ASGI + raw SQL writing the same rows",
            subject_label="POST /api/v1/dispatch/jobs/{n}/steps (service, timeline, audit, push)",
            baseline=_steps(base, sessions, numbers, True, per_round),
            subject=_steps(base, sessions, numbers, False, per_round),
            iterations=20,  # ten gave ratios from 1.8× to 2.3× on one machine in an hour
            warmup=1,
            units=per_round,
            max_ratio=2.0,
            note="ratio ≤ 2× in time per step = ≥ 50 % of the bare endpoint's throughput",
        ),
    ]
