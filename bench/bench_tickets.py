"""Cases: creating one through the API against raw SQL inserting the same rows (16 clients
at once), and the SLA sweep over a city's worth of open cases."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import Any

import httpx
from asgiref.sync import sync_to_async

from bench.asgi import bare
from bench.context import BenchContext, login_cookie
from bench.harness import Comparison, Measurement

CLIENTS = 16
CSRF = "b" * 32  # an unmasked CSRF secret: Django accepts it as cookie and header alike

# Row templates captured from one case created through the service (column → value).
TEMPLATES: dict[str, dict[str, Any]] = {}


def _row(table: str, pk: int) -> dict[str, Any]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table} WHERE id = %s", [pk])
        names = [c[0] for c in cursor.description]
        return dict(zip(names, cursor.fetchone(), strict=True))


TEMPLATE_SUBJECT = "基准模板"


def _create_template(agent: Any, kind: Any) -> None:
    """One case created the platform's way; its rows are the templates for raw SQL."""
    from qingquan.tickets import services

    services.ticket_create(
        actor=agent,
        kind=kind,
        channel="phone",
        subject=TEMPLATE_SUBJECT,
        caller_phone="13800000000",
    )


def _load_templates() -> None:
    """Read the template case's rows (in whichever process serves the bare endpoint)."""
    from qingquan.core.models import AuditEvent
    from qingquan.tickets.models import Ticket, TicketEvent

    if TEMPLATES:
        return
    ticket = Ticket.objects.filter(subject=TEMPLATE_SUBJECT).latest("id")
    TEMPLATES["tickets_ticket"] = _row("tickets_ticket", ticket.pk)
    TEMPLATES["tickets_contact"] = _row("tickets_contact", ticket.contacts.get().pk)
    TEMPLATES["tickets_ticketevent"] = _row(
        "tickets_ticketevent", TicketEvent.objects.filter(ticket=ticket).get().pk
    )
    TEMPLATES["core_auditevent"] = _row(
        "core_auditevent",
        AuditEvent.objects.filter(action="ticket.create", object_id=str(ticket.pk)).get().pk,
    )


def _insert_sql(table: str, columns: list[str]) -> str:
    marks = ", ".join(["%s"] * len(columns))
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"


def _insert(cursor: Any, table: str, values: dict[str, Any]) -> int:
    from django.db import connection

    columns = [c for c in values if c != "id"]
    sql = _insert_sql(table, columns)
    params = [values[c] for c in columns]
    if connection.vendor == "postgresql":
        cursor.execute(sql + " RETURNING id", params)
        return int(cursor.fetchone()[0])
    cursor.execute(sql, params)
    return int(cursor.lastrowid)


def _bare_create(subject: str) -> str:
    """The rows ticket_create writes (counter, contact, case, link, event, two audit rows)."""
    from django.db import connection, transaction

    _load_templates()
    now = dt.datetime.now(dt.UTC)
    day = now.astimezone(dt.timezone(dt.timedelta(hours=8))).date()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE tickets_daycounter SET last = last + 1 WHERE day = %s", [day])
        if cursor.rowcount == 0:
            cursor.execute("INSERT INTO tickets_daycounter (day, last) VALUES (%s, 1)", [day])
        cursor.execute("SELECT last FROM tickets_daycounter WHERE day = %s", [day])
        number = f"{day:%Y%m%d}-{cursor.fetchone()[0]:04d}"
        contact_id = _insert(
            cursor, "tickets_contact", {**TEMPLATES["tickets_contact"], "started_at": now}
        )
        ticket_id = _insert(
            cursor,
            "tickets_ticket",
            {
                **TEMPLATES["tickets_ticket"],
                "number": number,
                "subject": subject,
                "created_at": now,
                "updated_at": now,
                "sla_started_at": now,
            },
        )
        cursor.execute(
            "INSERT INTO tickets_contact_tickets (contact_id, ticket_id) VALUES (%s, %s)",
            [contact_id, ticket_id],
        )
        _insert(
            cursor,
            "tickets_ticketevent",
            {**TEMPLATES["tickets_ticketevent"], "ticket_id": ticket_id, "at": now},
        )
        for object_id in (contact_id, ticket_id):
            _insert(
                cursor,
                "core_auditevent",
                {**TEMPLATES["core_auditevent"], "object_id": str(object_id), "at": now},
            )
    return number


@bare("/__bench/bare-ticket-create")
async def bare_ticket_create(scope: dict[str, Any], receive: Any, send: Any) -> None:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    number = await sync_to_async(_bare_create)("基准")
    await send(
        {
            "type": "http.response.start",
            "status": 201,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": f'{{"number": "{number}"}}'.encode()})


def _setup() -> tuple[Any, Any]:
    from qingquan.staff import services as staff_services
    from qingquan.staff.models import User
    from qingquan.staff.roles import Role
    from qingquan.tickets.models import CaseKind

    agent = User.objects.filter(username="bench-ticket-agent").first()
    if agent is None:
        agent = staff_services.staff_create(
            actor=None,
            username="bench-ticket-agent",
            full_name="基准受理员",
            role=Role.AGENT,
            password="bench-password-96390",
            validate=False,
        )
    kind = CaseKind.objects.filter(is_active=True, code="consultation").first()
    kind = kind or CaseKind.objects.filter(is_active=True).order_by("pk").first()
    return agent, kind


def _concurrent_posts(base: str, cookies: dict[str, str], path: str, payload: dict, n: int):
    async def run() -> None:
        async with httpx.AsyncClient(base_url=base, cookies=cookies, timeout=60) as client:
            queue = list(range(n))

            async def worker() -> None:
                while queue:
                    queue.pop()
                    response = await client.post(
                        path,
                        json=payload,
                        headers={"X-CSRFToken": CSRF, "Referer": base + "/"},
                    )
                    assert response.status_code == 201, (response.status_code, response.text)

            await asyncio.gather(*(worker() for _ in range(CLIENTS)))

    def call() -> None:
        asyncio.run(run())

    return call


def _seed_open_cases(count: int) -> None:
    """`count` open cases with deadlines spread ±15 days around now (raw bulk insert)."""
    from django.db import connection, transaction

    template = {k: v for k, v in TEMPLATES["tickets_ticket"].items() if k != "id"}
    columns = list(template)
    now = dt.datetime.now(dt.UTC)
    sql = _insert_sql("tickets_ticket", columns)
    batch = []
    with transaction.atomic(), connection.cursor() as cursor:
        for i in range(count):
            offset = dt.timedelta(seconds=(i * 7919) % (30 * 86400) - 15 * 86400)
            row = dict(template)
            row.update(
                number=f"BENCH-{i:09d}",
                state="in_progress",
                sla_state="ok",
                resolution_deadline=now + offset,
                warn_at=now + offset - dt.timedelta(hours=6),
                created_at=now - dt.timedelta(days=16),
                updated_at=now,
            )
            batch.append([row[c] for c in columns])
            if len(batch) == 10_000:
                cursor.executemany(sql, batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)


def _drop_bench_cases() -> None:
    # Raw: the ORM's delete would collect a million ids into one statement. The rows were
    # inserted raw too, so nothing refers to them.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM tickets_ticket WHERE number LIKE 'BENCH-%%'")


def _sweep_measurements(count: int) -> list[Measurement]:
    from qingquan.tickets.tasks import sweep

    _drop_bench_cases()
    started = time.perf_counter()
    _seed_open_cases(count)
    seeded = time.perf_counter() - started
    started = time.perf_counter()
    catch_up = sweep()
    first = time.perf_counter() - started
    started = time.perf_counter()
    sweep()
    steady = time.perf_counter() - started
    _drop_bench_cases()
    return [
        Measurement(
            name=f"SLA sweep, catch-up over {count:,} open cases",
            seconds=first,
            limit_seconds=60 if count >= 1_000_000 else None,
            note=(
                f"{catch_up['breached']:,} breached and {catch_up['warning']:,} warned in one "
                f"sweep (as after downtime); seeding took {seeded:.1f} s"
            ),
        ),
        Measurement(
            name=f"SLA sweep, steady state over {count:,} open cases",
            seconds=steady,
            limit_seconds=60 if count >= 1_000_000 else None,
            note="the minute-by-minute run once the backlog is flagged",
        ),
    ]


def cases(ctx: BenchContext) -> list[Comparison | Measurement]:
    agent, kind = _setup()
    _create_template(agent, kind)
    _load_templates()
    base = ctx.server()
    cookies = {**login_cookie(agent), "csrftoken": CSRF}
    per_round = 64
    payload = {
        "kind": kind.code,
        "channel": "phone",
        "subject": "基准受理",
        "caller_phone": "13800000000",
    }
    results: list[Comparison | Measurement] = [
        Comparison(
            name=f"create a case, {CLIENTS} concurrent clients",
            baseline_label="bare ASGI + raw SQL inserting the same rows",
            subject_label="POST /api/v1/tickets/ (service, history, clock, audit)",
            baseline=_concurrent_posts(base, cookies, "/__bench/bare-ticket-create", {}, per_round),
            subject=_concurrent_posts(base, cookies, "/api/v1/tickets/", payload, per_round),
            iterations=20,
            warmup=2,
            units=per_round,
            max_ratio=2.0,
            note="ratio ≤ 2× in time per case = ≥ 50 % of the bare endpoint's throughput",
        )
    ]
    results += _sweep_measurements(max(1000, int(1_000_000 * ctx.scale)))
    return results
