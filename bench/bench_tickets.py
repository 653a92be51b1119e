"""Cases: creating one through the API against raw SQL inserting the same rows (16 clients
at once), and the SLA sweep over a city's worth of open cases."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from http.cookies import SimpleCookie
from typing import Any

import httpx
from asgiref.sync import sync_to_async

from bench.asgi import bare
from bench.context import BenchContext, bench_user, login_cookie
from bench.harness import Comparison, Measurement

CLIENTS = 16
CSRF = "b" * 32  # an unmasked CSRF secret: Django accepts it as cookie and header alike

# Row templates captured from one case created through the service (column → value).
TEMPLATES: dict[str, Any] = {}


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
    from qingquan.reports.models import TicketContribution
    from qingquan.tickets.models import Ticket, TicketEvent

    if TEMPLATES:
        return
    ticket = Ticket.objects.filter(subject=TEMPLATE_SUBJECT).latest("id")
    contact = ticket.contacts.get()
    TEMPLATES["tickets_ticket"] = _row("tickets_ticket", ticket.pk)
    TEMPLATES["tickets_contact"] = _row("tickets_contact", contact.pk)
    TEMPLATES["tickets_ticketevent"] = _row(
        "tickets_ticketevent", TicketEvent.objects.filter(ticket=ticket).get().pk
    )
    TEMPLATES["core_auditevent"] = _row(
        "core_auditevent",
        AuditEvent.objects.filter(action="ticket.create", object_id=str(ticket.pk)).get().pk,
    )
    TEMPLATES["contact_audit"] = _row(
        "core_auditevent",
        AuditEvent.objects.filter(action="contact.record", object_id=str(contact.pk)).get().pk,
    )
    TEMPLATES["kind_code"] = ticket.kind.top.code
    TEMPLATES["contribution_rows"] = (
        TicketContribution.objects.filter(ticket=ticket).values_list("rows", flat=True).get()
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


def _count(cursor: Any, table: str, measure: str, keys: dict[str, Any]) -> None:
    """Add one to a rollup row (as the reports listeners do), creating it when missing."""
    from qingquan.reports.models import MEASURES

    where = " AND ".join(f"{k} = %s" for k in keys)
    sql = f"UPDATE {table} SET {measure} = {measure} + 1 WHERE {where}"
    cursor.execute(sql, list(keys.values()))
    if cursor.rowcount == 0:
        zeros = {m: 0 for m in MEASURES} if table == "reports_kpidaily" else {}
        _insert(cursor, table, {**keys, **zeros, measure: 1})


def _authenticate(headers: list[tuple[bytes, bytes]]) -> tuple[int, str] | None:
    """What the platform's middleware and API auth do per request, with raw SQL: the
    session row, the user row, the session hash and the CSRF token."""
    import hmac

    from django.contrib.sessions.backends.db import SessionStore
    from django.db import connection
    from django.utils.crypto import salted_hmac

    cookies = SimpleCookie()
    token = ""
    for name, value in headers:
        if name == b"cookie":
            cookies.load(value.decode())
        elif name == b"x-csrftoken":
            token = value.decode()
    if "csrftoken" not in cookies or not hmac.compare_digest(cookies["csrftoken"].value, token):
        return None
    key = cookies["sessionid"].value if "sessionid" in cookies else ""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT session_data FROM django_session WHERE session_key = %s AND expire_date > %s",
            [key, dt.datetime.now(dt.UTC)],
        )
        row = cursor.fetchone()
        if row is None:
            return None
        session = SessionStore().decode(row[0])
        cursor.execute(
            "SELECT * FROM staff_user WHERE id = %s AND is_active", [session["_auth_user_id"]]
        )
        names = [c[0] for c in cursor.description]
        user_row = cursor.fetchone()
    if user_row is None:
        return None
    user = dict(zip(names, user_row, strict=True))
    expected = salted_hmac(
        "django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash",
        user["password"],
        algorithm="sha256",
    ).hexdigest()
    if not hmac.compare_digest(expected, session.get("_auth_user_hash", "")):
        return None
    return int(user["id"]), user["full_name"] or user["username"]


NUMBER_SQL = (
    "INSERT INTO tickets_daycounter (day, last) VALUES (%s, 1) "
    "ON CONFLICT (day) DO UPDATE SET last = tickets_daycounter.last + 1 "
    "RETURNING last, (SELECT token FROM tickets_kindsversion WHERE id = 1)"
)


def _bare_create(subject: str, headers: list[tuple[bytes, bytes]]) -> str | None:
    """The reads and rows of POST /api/v1/tickets/: session, user and CSRF; then the
    contact, its day's contact count and audit row, the case number (with the kinds'
    token), the case (its clock and timers are columns), the contact link, the timeline
    entry, the day's KPI count and the case's stored contribution, and the case's audit
    row. Partner outbox: none (a case received by staff is no partner's)."""
    from django.db import connection, transaction

    _load_templates()
    authenticated = _authenticate(headers)
    if authenticated is None:
        return None
    user_id, label = authenticated
    now = dt.datetime.now(dt.UTC)
    day = now.astimezone(dt.timezone(dt.timedelta(hours=8))).date()
    contact = TEMPLATES["tickets_contact"]
    event = {**TEMPLATES["tickets_ticketevent"], "actor_id": user_id}
    actor = {"actor_id": user_id, "actor_label": label}
    with transaction.atomic(), connection.cursor() as cursor:
        contact_id = _insert(
            cursor, "tickets_contact", {**contact, "started_at": now, "agent_id": user_id}
        )
        _count(
            cursor,
            "reports_contactdaily",
            "contacts",
            {"day": day, "channel": contact["channel"], "agent_id": user_id},
        )
        _insert(
            cursor,
            "core_auditevent",
            {**TEMPLATES["contact_audit"], **actor, "object_id": str(contact_id), "at": now},
        )
        cursor.execute(NUMBER_SQL, [day])
        number = f"{day:%Y%m%d}-{cursor.fetchone()[0]:04d}"
        ticket_id = _insert(
            cursor,
            "tickets_ticket",
            {
                **TEMPLATES["tickets_ticket"],
                "number": number,
                "subject": subject,
                "owner_id": user_id,
                "created_by_id": user_id,
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
            {**event, "ticket_id": ticket_id, "at": now},
        )
        ticket = TEMPLATES["tickets_ticket"]
        _count(
            cursor,
            "reports_kpidaily",
            "created",
            {
                "day": day,
                "kind": TEMPLATES["kind_code"],
                "district": "",
                "channel": ticket["channel"],
                "owner_id": user_id,
                "department_id": 0,
            },
        )
        cursor.execute(
            "INSERT INTO reports_ticketcontribution (ticket_id, rows) VALUES (%s, %s)",
            [ticket_id, json.dumps(TEMPLATES["contribution_rows"])],
        )
        _insert(
            cursor,
            "core_auditevent",
            {**TEMPLATES["core_auditevent"], **actor, "object_id": str(ticket_id), "at": now},
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
    payload = json.loads(body or b"{}")
    number = await sync_to_async(_bare_create)(payload.get("subject", "基准"), scope["headers"])
    status = 201 if number is not None else 403
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": json.dumps({"number": number}).encode()})


def _setup() -> tuple[list[Any], Any]:
    """The agents at the 16 seats (one per client, as in the hotline) and a case kind."""
    from qingquan.tickets.models import CaseKind

    agents = []
    for seat in range(CLIENTS):
        username = f"bench-ticket-agent-{seat:02d}"
        agents.append(bench_user(username, f"基准受理员{seat:02d}"))
    kind = CaseKind.objects.filter(is_active=True, code="consultation").first()
    kind = kind or CaseKind.objects.filter(is_active=True).order_by("pk").first()
    return agents, kind


def _concurrent_posts(
    base: str, sessions: list[dict[str, str]], path: str, payload: dict, n: int
) -> Any:
    """n POSTs shared among the clients, each client an agent at a seat with its session."""

    async def run() -> None:
        clients = [
            httpx.AsyncClient(base_url=base, cookies=cookies, timeout=60) for cookies in sessions
        ]
        queue = list(range(n))

        async def worker(client: httpx.AsyncClient) -> None:
            while queue:
                queue.pop()
                response = await client.post(
                    path,
                    json=payload,
                    headers={"X-CSRFToken": CSRF, "Referer": base + "/"},
                )
                assert response.status_code == 201, (response.status_code, response.text)

        try:
            await asyncio.gather(*(worker(client) for client in clients))
        finally:
            for client in clients:
                await client.aclose()

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
    # inserted raw, but the sweep writes rows that refer to them (timeline entries,
    # notifications, outbox rows): those go first, table by table.
    from django.apps import apps
    from django.db import connection

    from qingquan.tickets.models import Ticket

    bench_ids = "SELECT id FROM tickets_ticket WHERE number LIKE 'BENCH-%%'"
    with connection.cursor() as cursor:
        for model in apps.get_models(include_auto_created=True):  # hidden relations too
            if model is Ticket:
                continue
            for field in model._meta.concrete_fields:
                if field.is_relation and field.related_model is Ticket:
                    cursor.execute(
                        f"DELETE FROM {model._meta.db_table} WHERE {field.column} IN ({bench_ids})"
                    )
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
    agents, kind = _setup()
    _create_template(agents[0], kind)
    _load_templates()
    base = ctx.server()
    sessions = [{**login_cookie(agent), "csrftoken": CSRF} for agent in agents]
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
            baseline=_concurrent_posts(
                base, sessions, "/__bench/bare-ticket-create", payload, per_round
            ),
            subject=_concurrent_posts(base, sessions, "/api/v1/tickets/", payload, per_round),
            iterations=20,
            warmup=2,
            units=per_round,
            max_ratio=2.0,
            note="ratio ≤ 2× in time per case = ≥ 50 % of the bare endpoint's throughput",
        )
    ]
    results += _sweep_measurements(max(1000, int(1_000_000 * ctx.scale)))
    return results
