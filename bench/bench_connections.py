"""The monthly new-connections report (issue #20, R-CON-3) over 20 years of applications.

At scale 1: 200,000 applications that reached water on 2006–2025 (about 830 a month;
"221" 70 %, "431" 25 %, real estate 5 %), each with its policy's steps, marked by a
number starting with "BENCH-" and written in bulk (COPY on PostgreSQL, `executemany` on
SQLite) straight into the tables — no services, no rollups written. A run tops them up to
the wanted number, so a second run reuses them.

Measured:
- the rollups rebuilt from the raw rows by the platform's own `rollup.reconcile` (the
  nightly job, run here on empty rollups), and the consistency check (recompute and
  compare, the nightly job when nothing drifted);
- the monthly report read from the rollups (`report.monthly_report`) against the same
  report recomputed from the raw rows (`report.monthly_report_raw`: the month's
  applications, their steps counted, a sort for the 90th percentile), target a median
  under 200 ms at any size; the two are checked equal for every month of the 20 years
  before timing;
- adding one application at water on to its month's rollup row (`rollup.application_added`,
  the water-on transaction's share), in transactions rolled back.

    .venv/bin/python -m bench -k connections --scale 0.05
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from bench.bench_reports import _Writer
from bench.context import BenchContext, bench_user
from bench.harness import Comparison, Measurement

APPLICATIONS_AT_SCALE_1 = 200_000
FIRST_YEAR, LAST_YEAR = 2006, 2025
MONTH = (2025, 6)  # the month whose report is read
BATCH = 20_000
DAY = 86_400
SHARES = (("221", 0.70), ("431", 0.95), ("real_estate", 1.0))
START = dt.datetime(FIRST_YEAR, 1, 1, tzinfo=dt.UTC) - dt.timedelta(hours=8)  # local midnight
SPAN_SECONDS = int(
    (
        dt.datetime(LAST_YEAR + 1, 1, 1, tzinfo=dt.UTC) - dt.timedelta(hours=8) - START
    ).total_seconds()
)
REPORT_RUNS = 101  # runs of the rollup read at scale 1 (the median is reported)


class _Rollback(Exception):
    pass


def _stamp() -> Callable[[int], Any]:
    """Seconds since START → the value the database takes for a datetime column."""
    from django.db import connection

    if connection.vendor == "postgresql":
        return lambda s: START + dt.timedelta(seconds=s)
    naive = START.replace(tzinfo=None)
    return lambda s: str(naive + dt.timedelta(seconds=s))  # Django's SQLite format (UTC)


def _times(rng: random.Random, budget: int) -> tuple[int, int]:
    """(utility seconds, customer seconds) of one application: most within the budget,
    a tail beyond it; the customer's time is often none, sometimes days."""
    if rng.random() < 0.9:
        utility = rng.randrange(1800, budget)
    else:
        utility = rng.randrange(budget, 3 * budget)
    customer = 0 if rng.random() < 0.4 else rng.randrange(600, 5 * DAY)
    return utility, customer


def _generate(wanted: int) -> tuple[int, float]:
    """Top the generated applications up to ``wanted``: (how many exist, seconds taken)."""
    from django.db import connection, transaction

    from qingquan.connections.models import Application, ApplicationStep, Policy, PolicyStep
    from qingquan.staff.roles import Role

    have = Application.objects.filter(number__startswith="BENCH-").count()
    if have >= wanted:
        return have, 0.0
    t0 = time.perf_counter()
    rng = random.Random(have + 20)
    manager = bench_user("bench-connections-manager", "基准客户经理", role=Role.CUSTOMER_MANAGER)
    policies = {p.code: p for p in Policy.objects.all()}
    steps = {
        code: list(
            PolicyStep.objects.filter(policy=p).order_by("order").values_list("code", "name")
        )
        for code, p in policies.items()
    }
    stamp = _stamp()
    apps = _Writer(
        Application,
        [
            "id",
            "number",
            "policy_id",
            "address",
            "document_number",
            "step",
            "created_at",
            "budget_seconds",
            "water_on_at",
            "utility_seconds",
            "customer_seconds",
            "on_time",
        ],
        channel="counter",
        applicant_kind="enterprise",
        applicant_name="基准报装企业",
        phone="+8613900000000",
        document_kind="licence",
        document="connections/bench/licence.pdf",
        document_type="application/pdf",
        document_size=1024,
        use="business",
        m3_per_day=5,
        pipe_mm=25,
        manager_id=manager.pk,
        state="water_on",
        warn_fraction=0.75,
        version=1,
    )
    step_rows = _Writer(
        ApplicationStep, ["application_id", "order", "code", "name", "budget_seconds"]
    )
    next_id = (Application.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    for batch_start in range(have, wanted, BATCH):
        a_rows, s_rows = [], []
        for n in range(batch_start, min(wanted, batch_start + BATCH)):
            pk, next_id = next_id, next_id + 1
            draw = rng.random()
            code = next(c for c, share in SHARES if draw < share)
            budget = policies[code].budget_seconds
            utility, customer = _times(rng, budget)
            water_on = rng.randrange(10 * DAY, SPAN_SECONDS)
            a_rows.append(
                (
                    pk,
                    f"BENCH-{n:09d}",
                    policies[code].pk,
                    f"基准市报装路{n}号",
                    f"BENCH{n:09d}",
                    len(steps[code]),
                    stamp(water_on - utility - customer),
                    budget,
                    stamp(water_on),
                    utility,
                    customer,
                    utility <= budget,
                )
            )
            for order, (step_code, name) in enumerate(steps[code], start=1):
                s_rows.append((pk, order, step_code, name, DAY))
        with transaction.atomic():
            apps.write(a_rows)
            step_rows.write(s_rows)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('connections_application', 'id'), "
                "(SELECT max(id) FROM connections_application))"
            )
        cursor.execute("ANALYZE")
    return wanted, time.perf_counter() - t0


def _empty_rollups() -> None:
    from qingquan.connections.models import MonthlyRollup

    MonthlyRollup.objects.all().delete()


def _median_seconds(fn: Callable[[], object], runs: int) -> float:
    fn()  # warm-up
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def _all_months_equal(reader: Any) -> int:
    """Check the report from the rollups equals the raw recomputation for every month of
    the span; the number of months checked."""
    from qingquan.connections.report import monthly_report, monthly_report_raw

    checked = 0
    for year in range(FIRST_YEAR, LAST_YEAR + 1):
        for month in range(1, 13):
            rolled = monthly_report(actor=reader, year=year, month=month)
            raw = monthly_report_raw(actor=reader, year=year, month=month)
            assert rolled == raw, (year, month, rolled, raw)
            checked += 1
    return checked


def _water_on_add(samples: int) -> float:
    """Median seconds of adding one application to its rollup row (rolled back)."""
    from django.db import transaction

    from qingquan.connections import rollup
    from qingquan.connections.models import Application

    apps = list(
        Application.objects.filter(number__startswith="BENCH-")
        .select_related("policy")
        .order_by("pk")[:samples]
    )
    times = []
    for app in apps:
        try:
            with transaction.atomic():
                t0 = time.perf_counter()
                rollup.application_added(application=app, steps=2)
                times.append(time.perf_counter() - t0)
                raise _Rollback
        except _Rollback:
            pass
    return statistics.median(times)


def cases(ctx: BenchContext) -> list[Comparison | Measurement]:
    from qingquan.connections import rollup
    from qingquan.connections.models import Application, MonthlyRollup
    from qingquan.connections.report import monthly_report, monthly_report_raw
    from qingquan.staff.models import User
    from qingquan.staff.roles import Role

    wanted = max(2000, int(APPLICATIONS_AT_SCALE_1 * ctx.scale))
    total, generated = _generate(wanted)
    size = Application.objects.filter(state="water_on").count()
    _empty_rollups()
    t0 = time.perf_counter()
    written = rollup.reconcile()
    rebuild_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    differences = rollup.consistency_check()
    check_seconds = time.perf_counter() - t0
    assert differences == [], differences[:5]
    reader = User(username="bench-reader", role=Role.ADMINISTRATOR, is_active=True)
    months = _all_months_equal(reader)
    year, month = MONTH

    def from_rollups() -> object:
        return monthly_report(actor=reader, year=year, month=month)

    def from_raw() -> object:
        return monthly_report_raw(actor=reader, year=year, month=month)

    in_month = sum(
        line.applications for line in monthly_report(actor=reader, year=year, month=month)
    )
    generating = f"generating took {generated:.0f} s" if generated else "generated before"
    runs = max(21, int(REPORT_RUNS * ctx.scale))
    return [
        Measurement(
            name="connections rollups: rebuild from raw rows",
            seconds=rebuild_seconds,
            note=f"{size:,} applications at water on {FIRST_YEAR}–{LAST_YEAR} ({total:,} "
            f"generated, {generating}); rollup.reconcile() on empty rollups: {written:,} "
            f"month × policy rows written",
        ),
        Measurement(
            name="connections rollups: consistency check (recompute and compare)",
            seconds=check_seconds,
            note=f"{size:,} applications; {MonthlyRollup.objects.count():,} rollup rows",
        ),
        Measurement(
            name="connections monthly report from rollups",
            seconds=_median_seconds(from_rollups, runs),
            limit_seconds=0.2,
            note=f"median of {runs} runs; month {year}-{month:02d} ({in_month:,} applications); "
            f"equal to the raw recomputation in all {months} months",
        ),
        Comparison(
            name="connections monthly report",
            baseline_label="recomputed from raw rows (monthly_report_raw)",
            subject_label="rollups (MonthlyRollup) via report.monthly_report",
            baseline=from_raw,
            subject=from_rollups,
            iterations=max(21, int(60 * ctx.scale)),
            warmup=3,
            max_subject_ms=200.0,
            note=f"{size:,} applications; month {year}-{month:02d}; identical rows checked",
        ),
        Measurement(
            name="water on: add one application to its month's rollup",
            seconds=_water_on_add(max(20, int(200 * ctx.scale))),
            note="median; the row locked, sums and histogram rewritten; rolled back",
        ),
    ]
