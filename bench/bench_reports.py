"""Statistics at scale (issue #6): on 3 M cases over 20 years, the monthly KPI table read
from the daily rollups (target: under 100 ms, the median of many runs), compared in the
same run with DuckDB computing the same table from the raw rows; and the full
recomputation of the rollups from the raw rows by the platform's own `rollup.reconcile`
(the nightly job, run here on empty rollups), plus the consistency check.

At scale 1: 3,000,000 cases created 2006–2025 (one contact each, a completed callback on
about a quarter of the resolved ones), marked by a case number starting with "B" and
written in bulk — COPY on PostgreSQL, `executemany` on SQLite — straight into the tables
(no model objects, no signals: the rollups are then built by the reconcile being timed).
A run tops the generated cases up to the wanted number, so a second run reuses them.

DuckDB is an optional extra (`pip install -e '.[bench]'`); it reads the raw rows from a
CSV export (not timed). Without it the comparison is skipped with a note.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from bench.context import BenchContext, bench_user
from bench.harness import Comparison, Measurement

CASES_AT_SCALE_1 = 3_000_000
FIRST_YEAR, LAST_YEAR = 2006, 2025
MONTH = dt.date(2025, 6, 1)  # the month whose table is read
AGENTS = 26  # the hotline's agents (SPEC)
OUTCOMES = ["satisfied"] * 80 + ["fairly_satisfied"] * 12 + ["dissatisfied"] * 2
OUTCOMES += ["unreachable"] * 5 + ["declined"]
BATCH = 50_000
UTC = dt.UTC
START = dt.datetime(FIRST_YEAR, 1, 1, tzinfo=UTC) - dt.timedelta(hours=8)  # local midnight
SPAN_SECONDS = int(
    (dt.datetime(LAST_YEAR + 1, 1, 1, tzinfo=UTC) - dt.timedelta(hours=8) - START).total_seconds()
)
TABLE_RUNS = 101  # runs of the rollup read at scale 1 (the median is reported)


def _agents() -> list[int]:

    people = []
    for index in range(AGENTS):
        name = f"bench-reports-agent-{index}"
        user = bench_user(name, f"基准话务员{index}")
        people.append(int(user.pk))
    return people


class _Writer:
    """Bulk rows into one table: COPY on PostgreSQL, executemany on SQLite. Columns not
    given per row take the model's default (or the constants passed), prepared once."""

    def __init__(self, model: Any, varying: list[str], **constants: Any) -> None:
        from django.db import connection, models

        self.connection = connection
        self.table = model._meta.db_table
        instance = model(**constants)
        self.columns: list[str] = []
        template: list[Any] = []
        for f in model._meta.concrete_fields:
            if f.column in varying or f.primary_key:
                continue
            value = getattr(instance, f.attname)
            if isinstance(f, models.JSONField):
                prepared: Any = json.dumps(value)
            else:
                prepared = f.get_db_prep_save(value, connection)
                if isinstance(prepared, str):
                    prepared = str(prepared)  # plain str, not a choices enum
            self.columns.append(f.column)
            template.append(prepared)
        self.columns += varying
        self.template = tuple(template)

    def write(self, rows: Iterable[tuple[Any, ...]]) -> None:
        from qingquan.core.db import bulk

        bulk.write_rows(self.table, self.columns, (self.template + row for row in rows))


def _stamp_function() -> Callable[[int], Any]:
    """Seconds since START → the value the database takes for a datetime column."""
    from django.db import connection

    if connection.vendor == "postgresql":
        return lambda s: START + dt.timedelta(seconds=s)
    naive = START.replace(tzinfo=None)
    return lambda s: str(naive + dt.timedelta(seconds=s))  # Django's SQLite format (UTC)


def _generate(wanted: int) -> tuple[int, float]:
    """Top the generated cases up to ``wanted``: (how many exist, seconds it took)."""
    from django.db import connection, transaction

    from qingquan.surveys.models import CallbackTask
    from qingquan.tickets.models import CaseKind, Channel, Contact, Ticket

    have = Ticket.objects.filter(number__startswith="B").count()
    if have >= wanted:
        return have, 0.0
    t0 = time.perf_counter()
    rng = random.Random(have + 96390)
    agents = _agents()
    kinds = list(CaseKind.objects.filter(parent__isnull=False).values_list("pk", flat=True))
    channels = [c for c, _label in Channel.choices]
    stamp = _stamp_function()
    now_s = int((dt.datetime.now(UTC) - START).total_seconds())
    tickets = _Writer(
        Ticket,
        [
            "id",
            "number",
            "kind_id",
            "channel",
            "state",
            "owner_id",
            "created_at",
            "updated_at",
            "resolved_at",
            "on_time",
            "sla_started_at",
        ],
        priority="normal",
        subject="基准工单",
        sla_policy_code="bench",
        sla_clock_kind="calendar",
        sla_warn_fraction=0.8,
        sla_resolution_seconds=86400,
    )
    contacts = _Writer(Contact, ["channel", "started_at", "agent_id"], from_address="bench")
    callbacks = _Writer(
        CallbackTask,
        ["ticket_id", "assignee_id", "created_at", "due_at", "outcome", "completed_at"],
        purpose="case",
        status="done",
        attempts=1,
    )
    next_id = (Ticket.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    for batch_start in range(have, wanted, BATCH):
        t_rows, c_rows, cb_rows = [], [], []
        for n in range(batch_start, min(wanted, batch_start + BATCH)):
            pk = next_id
            next_id += 1
            created = rng.randrange(SPAN_SECONDS)
            done = rng.random() < 0.97
            resolved = created + rng.randrange(720, 216_000) if done else None
            channel = rng.choice(channels)
            agent = rng.choice(agents)
            t_rows.append(
                (
                    pk,
                    f"B{n:09d}",
                    rng.choice(kinds),
                    channel,
                    "closed" if done else "in_progress",
                    agent,
                    stamp(created),
                    stamp(resolved or created),
                    stamp(resolved) if resolved is not None else None,
                    (rng.random() < 0.985) if done else None,
                    stamp(created),
                )
            )
            c_rows.append((channel, stamp(created), agent))
            if resolved is not None and rng.random() < 0.25:
                completed = min(now_s, resolved + rng.randrange(3600, 144_000))
                cb_rows.append(
                    (
                        pk,
                        agent,
                        stamp(resolved),
                        stamp(resolved + 2 * 86400),
                        rng.choice(OUTCOMES),
                        stamp(completed),
                    )
                )
        with transaction.atomic():
            tickets.write(t_rows)
            contacts.write(c_rows)
            callbacks.write(cb_rows)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('tickets_ticket', 'id'), "
                "(SELECT max(id) FROM tickets_ticket))"
            )
            cursor.execute("ANALYZE")
        else:
            cursor.execute("ANALYZE")
    return wanted, time.perf_counter() - t0


def _export(path: Path) -> Path:
    """The raw rows DuckDB needs, as CSV files (epoch seconds, UTC)."""
    from django.db import connection

    if connection.vendor == "postgresql":
        epoch = "CAST(EXTRACT(EPOCH FROM {}) AS BIGINT)"
    else:
        epoch = "CAST(strftime('%s', {}) AS INTEGER)"
    queries = {
        "tickets": (
            "SELECT t.id, coalesce(p.code, k.code), "
            f"{epoch.format('t.created_at')}, {epoch.format('t.resolved_at')}, t.state, "
            "CASE WHEN t.on_time THEN 1 ELSE 0 END "
            "FROM tickets_ticket t JOIN tickets_casekind k ON k.id = t.kind_id "
            "LEFT JOIN tickets_casekind p ON p.id = k.parent_id"
        ),
        "callbacks": (
            f"SELECT ticket_id, {epoch.format('completed_at')}, outcome "
            "FROM surveys_callbacktask WHERE ticket_id IS NOT NULL AND status = 'done' "
            "AND completed_at IS NOT NULL"
        ),
    }
    for name, sql in queries.items():
        target = path / f"{name}.csv"
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                with (
                    target.open("wb") as out,
                    cursor.cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)") as copy,
                ):
                    for block in copy:
                        out.write(block)
            else:
                cursor.execute(sql)
                with target.open("w", newline="") as out:
                    writer = csv.writer(out)
                    while chunk := cursor.fetchmany(20_000):
                        writer.writerows(chunk)
    return path


def _duckdb_tables() -> Any:
    """An in-memory DuckDB holding the raw rows (epoch seconds, UTC), or None."""
    try:
        import duckdb
    except ImportError:
        return None
    con = duckdb.connect()
    with tempfile.TemporaryDirectory(dir=os.environ.get("QINGQUAN_DATA_DIR")) as tmp:
        folder = _export(Path(tmp))
        tickets = folder / "tickets.csv"
        callbacks = folder / "callbacks.csv"
        con.execute(
            "CREATE TABLE tickets AS SELECT id, kind, created, resolved, state, "
            "CAST(on_time AS BOOLEAN) AS on_time FROM read_csv(?, header = false, columns = "
            "{'id': 'BIGINT', 'kind': 'VARCHAR', 'created': 'BIGINT', 'resolved': 'BIGINT', "
            "'state': 'VARCHAR', 'on_time': 'INTEGER'})",
            [str(tickets)],
        )
        con.execute(
            "CREATE TABLE callbacks AS SELECT * FROM read_csv(?, header = false, columns = "
            "{'ticket_id': 'BIGINT', 'completed': 'BIGINT', 'outcome': 'VARCHAR'})",
            [str(callbacks)],
        )
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


def _empty_rollups() -> None:
    """Drop every rollup row and stored contribution (the rebuild then starts from zero)."""
    from django.db import connection, transaction

    from qingquan.reports.models import ContactDaily, KpiDaily, TicketContribution

    with transaction.atomic(), connection.cursor() as cursor:
        for model in (KpiDaily, ContactDaily, TicketContribution):
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(model._meta.db_table)}")


def _median_seconds(fn: Callable[[], object], runs: int) -> float:
    fn()  # warm-up
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def cases(ctx: BenchContext) -> list[Comparison | Measurement]:
    from django.db import connection

    from qingquan.reports import rollup, selectors
    from qingquan.reports.models import KpiDaily
    from qingquan.reports.periods import period
    from qingquan.staff.models import User
    from qingquan.staff.roles import Role
    from qingquan.tickets.models import Ticket

    wanted = max(2000, int(CASES_AT_SCALE_1 * ctx.scale))
    total, generated = _generate(wanted)
    size = Ticket.objects.count()
    _empty_rollups()
    t0 = time.perf_counter()
    fixed = rollup.reconcile()
    recompute_seconds = time.perf_counter() - t0
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE reports_kpidaily")
    t0 = time.perf_counter()
    differences = rollup.consistency_check()
    check_seconds = time.perf_counter() - t0
    assert differences == [], differences[:5]
    rollup_rows = KpiDaily.objects.count()

    reader = User(username="bench-reader", role=Role.ADMINISTRATOR, is_active=True)
    month = period("month", MONTH)

    def from_rollups() -> dict[str, tuple[int, ...]]:
        rows = selectors.kpi_table(user=reader, period=month, by="kind")
        return {
            str(r.key): tuple(r.counts.get(m, 0) for m in MEASURES)
            for r in rows
            if any(r.counts.values())
        }

    generating = f"generating took {generated:.0f} s" if generated else "generated before"
    runs = max(21, int(TABLE_RUNS * ctx.scale))
    results: list[Comparison | Measurement] = [
        Measurement(
            name="rollups: full recomputation from raw rows",
            seconds=recompute_seconds,
            note=f"{size:,} cases {FIRST_YEAR}–{LAST_YEAR} ({total:,} generated, {generating}); "
            f"rollup.reconcile() on empty rollups: {fixed:,} differences written, "
            f"{rollup_rows:,} daily rows",
        ),
        Measurement(
            name="rollups: consistency check (recompute and compare)",
            seconds=check_seconds,
            note=f"{size:,} cases; the nightly job when nothing drifted",
        ),
        Measurement(
            name="monthly KPI table from rollups",
            seconds=_median_seconds(from_rollups, runs),
            limit_seconds=0.1,
            note=f"median of {runs} runs; month {MONTH:%Y-%m} by kind, {size:,} cases",
        ),
    ]
    con = _duckdb_tables()
    if con is None:
        results[-1].note += "; DuckDB not installed (pip install -e '.[bench]'): no comparison"
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
            note=f"{size:,} cases {FIRST_YEAR}–{LAST_YEAR}; month {MONTH:%Y-%m}; "
            "identical tables checked",
        )
    )
    return results
