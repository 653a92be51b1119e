"""Statistics at scale: the monthly KPI table read from the daily rollups, against DuckDB
computing the same table from the raw rows (cases and callbacks) held in memory; and the
full recomputation of the rollups from the raw rows (the nightly reconciliation).

Cases are generated in bulk (20,000 at scale 1, over the 12 months of 2025, 24 % of them
with a completed callback) and marked by a case number starting with "B". DuckDB is an
optional extra (`pip install -e '.[bench]'`); without it the comparison is skipped with a
note and the recomputation is still measured.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from typing import Any

from bench.context import BenchContext
from bench.harness import Comparison, Measurement

CASES_AT_SCALE_1 = 20_000
YEAR = 2025
MONTH = dt.date(YEAR, 6, 1)
OUTCOMES = ["satisfied"] * 80 + ["fairly_satisfied"] * 12 + ["dissatisfied"] * 2
OUTCOMES += ["unreachable"] * 5 + ["declined"]


def _agents() -> list[Any]:
    from qingquan.staff import services
    from qingquan.staff.models import User
    from qingquan.staff.roles import Role

    people = []
    for index in range(8):
        name = f"bench-reports-agent-{index}"
        user = User.objects.filter(username=name).first()
        if user is None:
            user = services.staff_create(
                actor=None,
                username=name,
                full_name=f"基准话务员{index}",
                role=Role.AGENT,
                password="bench-password-96390",
                validate=False,
            )
        people.append(user)
    return people


def _generate(wanted: int) -> int:
    """Top the generated cases up to ``wanted``; returns how many exist."""
    from qingquan.core import clock
    from qingquan.surveys.models import CallbackTask
    from qingquan.tickets.models import CaseKind, Channel, Contact, Ticket

    have = Ticket.objects.filter(number__startswith="B").count()
    if have >= wanted:
        return have
    rng = random.Random(have + 96390)
    agents = _agents()
    kinds = list(CaseKind.objects.filter(parent__isnull=False).select_related("parent"))
    channels = [c for c, _label in Channel.choices]
    start = dt.datetime(YEAR, 1, 1, tzinfo=clock.SHANGHAI)
    seconds_in_year = 365 * 86400
    for batch_start in range(have, wanted, 2000):
        tickets, contacts = [], []
        for n in range(batch_start, min(wanted, batch_start + 2000)):
            created = start + dt.timedelta(seconds=rng.randrange(seconds_in_year))
            done = rng.random() < 0.97
            resolved = created + dt.timedelta(hours=rng.uniform(0.2, 60)) if done else None
            channel = rng.choice(channels)
            agent = rng.choice(agents)
            tickets.append(
                Ticket(
                    number=f"B{n:09d}",
                    kind=rng.choice(kinds),
                    channel=channel,
                    priority="normal",
                    subject="基准工单",
                    state="closed" if done else "in_progress",
                    owner=agent,
                    created_at=created,
                    updated_at=resolved or created,
                    resolved_at=resolved,
                    on_time=(rng.random() < 0.985) if done else None,
                    sla_policy_code="bench",
                    sla_clock_kind="calendar",
                    sla_warn_fraction=0.8,
                    sla_resolution_seconds=86400,
                    sla_started_at=created,
                )
            )
            contacts.append(
                Contact(channel=channel, started_at=created, agent=agent, from_address="bench")
            )
        Ticket.objects.bulk_create(tickets, batch_size=1000)
        Contact.objects.bulk_create(contacts, batch_size=1000)
        saved = Ticket.objects.filter(number__in=[t.number for t in tickets]).values_list(
            "pk", "owner_id", "resolved_at"
        )
        now = clock.now()
        tasks = [
            CallbackTask(
                purpose="case",
                ticket_id=pk,
                assignee_id=owner,
                created_at=resolved,
                due_at=resolved + dt.timedelta(days=2),
                status="done",
                attempts=1,
                outcome=rng.choice(OUTCOMES),
                completed_at=min(now, resolved + dt.timedelta(hours=rng.uniform(1, 40))),
            )
            for pk, owner, resolved in saved
            if resolved is not None and rng.random() < 0.25
        ]
        CallbackTask.objects.bulk_create(tasks, batch_size=1000)
    return wanted


def _duckdb_tables() -> Any:
    """An in-memory DuckDB holding the raw rows (epoch seconds, UTC), or None."""
    try:
        import duckdb
    except ImportError:
        return None
    from qingquan.surveys.models import CallbackTask
    from qingquan.tickets.models import Ticket

    con = duckdb.connect()
    con.execute(
        "CREATE TABLE tickets (id BIGINT, kind VARCHAR, created BIGINT, resolved BIGINT, "
        "state VARCHAR, on_time BOOLEAN)"
    )
    rows = [
        (
            pk,
            parent or code,
            int(created.timestamp()),
            int(resolved.timestamp()) if resolved else None,
            state,
            on_time,
        )
        for pk, code, parent, created, resolved, state, on_time in Ticket.objects.values_list(
            "pk",
            "kind__code",
            "kind__parent__code",
            "created_at",
            "resolved_at",
            "state",
            "on_time",
        ).iterator(chunk_size=5000)
    ]
    con.executemany("INSERT INTO tickets VALUES (?, ?, ?, ?, ?, ?)", rows)
    con.execute("CREATE TABLE callbacks (ticket_id BIGINT, completed BIGINT, outcome VARCHAR)")
    callbacks = [
        (ticket_id, int(completed.timestamp()), outcome)
        for ticket_id, completed, outcome in CallbackTask.objects.filter(
            ticket__isnull=False, status="done"
        ).values_list("ticket_id", "completed_at", "outcome")
        if completed is not None
    ]
    con.executemany("INSERT INTO callbacks VALUES (?, ?, ?)", callbacks)
    return con


# Local (Asia/Shanghai, UTC+8 all year) day of an epoch, the rollups' day.
_DAY = "CAST(make_timestamp(({col} + 28800) * 1000000) AS DATE)"

DUCK_SQL = f"""
WITH t AS (
  SELECT *, {_DAY.format(col="created")} AS created_day,
         {_DAY.format(col="resolved")} AS resolved_day
  FROM tickets
), created AS (
  SELECT kind, count(*) AS created,
         count(*) FILTER (WHERE state IN ('resolved', 'closed')) AS done
  FROM t WHERE created_day >= $start AND created_day < $end GROUP BY kind
), resolved AS (
  SELECT kind, count(*) AS resolved, count(*) FILTER (WHERE on_time) AS on_time
  FROM t WHERE state IN ('resolved', 'closed') AND resolved_day >= $start
   AND resolved_day < $end GROUP BY kind
), cb AS (
  SELECT t.kind,
    count(*) FILTER (WHERE outcome = 'satisfied') AS sat,
    count(*) FILTER (WHERE outcome = 'fairly_satisfied') AS fairly,
    count(*) FILTER (WHERE outcome = 'dissatisfied') AS dis,
    count(*) FILTER (WHERE outcome = 'unreachable') AS unreachable,
    count(*) FILTER (WHERE outcome = 'declined') AS declined
  FROM callbacks c JOIN t ON t.id = c.ticket_id
  WHERE {_DAY.format(col="c.completed")} >= $start AND {_DAY.format(col="c.completed")} < $end
  GROUP BY t.kind
)
SELECT coalesce(created.kind, resolved.kind, cb.kind) AS kind,
  coalesce(created, 0), coalesce(done, 0), coalesce(resolved, 0), coalesce(on_time, 0),
  coalesce(sat, 0), coalesce(fairly, 0), coalesce(dis, 0), coalesce(unreachable, 0),
  coalesce(declined, 0)
FROM created FULL JOIN resolved USING (kind) FULL JOIN cb USING (kind)
ORDER BY 1
"""

MEASURES = (
    "created",
    "done",
    "resolved",
    "on_time",
    "cb_satisfied",
    "cb_fairly",
    "cb_dissatisfied",
    "cb_unreachable",
    "cb_declined",
)


def cases(ctx: BenchContext) -> list[Comparison | Measurement]:
    from qingquan.reports import rollup, selectors
    from qingquan.reports.periods import period
    from qingquan.staff.models import User
    from qingquan.staff.roles import Role

    wanted = max(500, int(CASES_AT_SCALE_1 * ctx.scale))
    t0 = time.perf_counter()
    total = _generate(wanted)
    generated = time.perf_counter() - t0
    from qingquan.reports.models import ContactDaily, KpiDaily, TicketContribution
    from qingquan.tickets.models import Ticket

    size = Ticket.objects.count()
    # A full rebuild: every rollup row and stored contribution recomputed from raw rows.
    KpiDaily.objects.all().delete()
    ContactDaily.objects.all().delete()
    TicketContribution.objects.all().delete()
    t0 = time.perf_counter()
    fixed = rollup.reconcile()
    recompute_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    assert rollup.consistency_check() == []
    check_seconds = time.perf_counter() - t0

    reader = User(username="bench-reader", role=Role.ADMINISTRATOR, is_active=True)
    month = period("month", MONTH)

    def from_rollups() -> dict[str, tuple[int, ...]]:
        rows = selectors.kpi_table(user=reader, period=month, by="kind")
        return {
            str(r.key): tuple(r.counts.get(m, 0) for m in MEASURES)
            for r in rows
            if any(r.counts.values())
        }

    results: list[Comparison | Measurement] = [
        Measurement(
            name="rollups: full recomputation from raw rows",
            seconds=recompute_seconds,
            note=f"{size:,} cases ({total:,} generated, {fixed} differences written; "
            f"generating took {generated:.1f} s)",
        ),
        Measurement(
            name="rollups: consistency check (recompute and compare)",
            seconds=check_seconds,
            note=f"{size:,} cases; the nightly job when nothing drifted",
        ),
    ]
    con = _duckdb_tables()
    if con is None:
        results.append(
            Measurement(
                name="monthly KPI table from rollups",
                seconds=min(_timed(from_rollups) for _ in range(5)),
                note="DuckDB not installed (pip install -e '.[bench]'): comparison skipped",
            )
        )
        return results
    ctx.on_close(con.close)
    params = {"start": month.start, "end": month.end}

    def from_duckdb() -> dict[str, tuple[int, ...]]:
        return {
            row[0]: tuple(int(v) for v in row[1:])
            for row in con.execute(DUCK_SQL, params).fetchall()
        }

    expected = from_duckdb()
    got = from_rollups()
    assert got == expected, (got, expected)  # the same table, both ways
    results.append(
        Comparison(
            name="monthly KPI table by kind",
            baseline_label="DuckDB over raw rows (in memory)",
            subject_label="rollups (KpiDaily) via selectors",
            baseline=from_duckdb,
            subject=from_rollups,
            iterations=60,
            warmup=5,
            note=f"{size:,} cases over {YEAR}; month {MONTH:%Y-%m}; identical tables checked",
        )
    )
    return results


def _timed(fn: Any) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0
