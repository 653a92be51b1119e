"""The monthly rollups of the connections report: kept at water on, equal to the
recomputation from the raw rows (averages, the exact 90th percentile, steps, documents,
on-time rate, the customer's time apart), reconciled when they drift, and the drill-down
to the applications behind a figure with each reader's own view."""

from __future__ import annotations

import datetime as dt
import random
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from qingquan.connections import rollup
from qingquan.connections.models import (
    Application,
    ApplicationStep,
    AppState,
    MonthlyRollup,
    Policy,
    PolicyCode,
)
from qingquan.connections.report import (
    monthly_report,
    monthly_report_raw,
    months_report,
    percentile,
)
from qingquan.core.access import AccessDenied

from .conftest import sh
from .test_report import connect

pytestmark = pytest.mark.django_db


def month_of_data(at: Any, apply: Any, people: Any) -> list[Any]:
    """Four connections in March 2026 (three 221, one 431; one 221 of manager2's, one late)
    and one in April."""
    return [
        connect(at, apply, people, sh(2026, 3, 2, 9), sh(2026, 3, 2, 10), sh(2026, 3, 3, 9)),
        connect(at, apply, people, sh(2026, 3, 4, 0), sh(2026, 3, 4, 1), sh(2026, 3, 5, 12)),
        connect(
            at,
            apply,
            people,
            sh(2026, 3, 9, 9),
            sh(2026, 3, 9, 10),
            sh(2026, 3, 12, 9),
            manager=people["manager2"],
        ),
        connect(
            at,
            apply,
            people,
            sh(2026, 3, 16, 9),
            sh(2026, 3, 16, 10),
            sh(2026, 3, 18, 9),
            pipe_mm=100,
        ),
        connect(at, apply, people, sh(2026, 4, 1, 9), sh(2026, 4, 1, 10), sh(2026, 4, 2, 9)),
    ]


def test_water_on_keeps_the_rollup_equal_to_the_raw_rows(at: Any, apply: Any, people: Any) -> None:
    month_of_data(at, apply, people)
    row = MonthlyRollup.objects.get(month=dt.date(2026, 3, 1), policy="221")
    assert (row.applications, row.steps, row.documents, row.on_time) == (3, 6, 3, 2)
    assert row.utility_seconds == int((1 + 1.5 + 3) * 86400)
    assert row.histogram == {"86400": 1, "129600": 1, "259200": 1}
    assert MonthlyRollup.objects.get(month=dt.date(2026, 3, 1), policy="431").steps == 3
    assert MonthlyRollup.objects.get(month=dt.date(2026, 4, 1), policy="221").applications == 1
    boss = people["supervisor"]
    for month in (3, 4, 5):
        rolled = monthly_report(actor=boss, year=2026, month=month)
        assert rolled == monthly_report_raw(actor=boss, year=2026, month=month)
    assert rollup.consistency_check() == []
    march = {r.policy: r for r in monthly_report(actor=boss, year=2026, month=3)}
    assert str(march["221"].p90_days) == "3.0" and str(march["221"].avg_days) == "1.83"
    # The statistics pages' span: each month, and the two months together, exactly.
    rows, span = months_report(actor=boss, first=dt.date(2026, 3, 1), last=dt.date(2026, 4, 1))
    assert [(m.month, line.policy) for m, line in rows] == [(3, "221"), (3, "431"), (4, "221")]
    assert span[0].applications == 4 and str(span[0].p90_days) == "3.0"


def test_a_drift_is_found_and_reconciled(at: Any, apply: Any, people: Any) -> None:
    month_of_data(at, apply, people)
    MonthlyRollup.objects.filter(policy="431").update(applications=7, histogram={"1": 7})
    MonthlyRollup.objects.create(month=dt.date(2025, 1, 1), policy="221", applications=2)
    MonthlyRollup.objects.filter(month=dt.date(2026, 4, 1)).delete()
    diffs = rollup.consistency_check()
    assert len(diffs) == 3 and any("2026-03 431" in d for d in diffs)
    with pytest.raises(CommandError):
        call_command("connections_rollups", stdout=StringIO())
    out = StringIO()
    call_command("connections_rollups", "--fix", stdout=out)
    assert "rewrote 3" in out.getvalue()
    assert rollup.consistency_check() == []
    boss = people["supervisor"]
    assert monthly_report(actor=boss, year=2026, month=4) == monthly_report_raw(
        actor=boss, year=2026, month=4
    )
    MonthlyRollup.objects.all().delete()  # a rebuild from nothing
    assert rollup.reconcile() == 3
    # The nightly task does the same.
    from qingquan.connections.tasks import connections_reconcile_rollups

    MonthlyRollup.objects.filter(policy="431").update(on_time=0)
    assert connections_reconcile_rollups.call() == 1
    assert connections_reconcile_rollups.call() == 0
    assert monthly_report(actor=boss, year=2026, month=3) == monthly_report_raw(
        actor=boss, year=2026, month=3
    )


def test_histogram_percentile_equals_a_sort_on_generated_rows(people: Any) -> None:
    """500 applications with random times in two months: the rollups rebuilt from the raw
    rows give the figures a sort of the raw rows gives, and merged months stay exact."""
    rnd = random.Random(20)
    policies = {p.code: p for p in Policy.objects.all()}
    apps = []
    for i in range(500):
        code = rnd.choice([PolicyCode.STANDARD_221, PolicyCode.PROVINCIAL_431])
        water_on = sh(2025, 11 + i % 2, 1 + i % 28, 12)
        utility = rnd.randrange(3600, 5 * 86400)
        apps.append(
            Application(
                number=f"BZT{i:06d}",
                policy=policies[code],
                channel="counter",
                applicant_kind="enterprise",
                applicant_name="x",
                phone="+8613900001111",
                document_kind="licence",
                document_number="x",
                document="connections/x.pdf" if i % 50 else "",
                document_type="application/pdf",
                document_size=1,
                address=f"a{i}",
                use="business",
                m3_per_day=1,
                pipe_mm=25,
                manager=people["manager"],
                state=AppState.WATER_ON,
                created_at=water_on - dt.timedelta(days=3),
                budget_seconds=2 * 86400,
                warn_fraction=0.75,
                water_on_at=water_on,
                utility_seconds=utility,
                customer_seconds=rnd.randrange(0, 3 * 86400),
                on_time=utility <= 2 * 86400,
            )
        )
    Application.objects.bulk_create(apps)
    ApplicationStep.objects.bulk_create(
        ApplicationStep(application=a, order=o, code=f"s{o}", name="s", budget_seconds=1)
        for a in Application.objects.select_related("policy")
        for o in range(1, 3 + (a.policy.code == "431"))
    )
    assert rollup.reconcile() == 4
    boss = people["admin"]
    for month in (11, 12):
        assert monthly_report(actor=boss, year=2025, month=month) == monthly_report_raw(
            actor=boss, year=2025, month=month
        )
    _, span = months_report(actor=boss, first=dt.date(2025, 11, 1), last=dt.date(2025, 12, 1))
    for line in span:
        seconds = [a.utility_seconds for a in apps if a.policy.code == line.policy]
        assert str(line.p90_days) == str(round(percentile(seconds, 0.9) / 86400, 2))
        assert line.applications == len(seconds)


def test_who_reads_the_figures_and_who_is_behind_them(at: Any, apply: Any, people: Any) -> None:
    made = month_of_data(at, apply, people)
    with pytest.raises(AccessDenied):
        monthly_report(actor=people["agent"], year=2026, month=3)
    url = "/connections/report/drill/?month=2026-03&policy=221&metric="
    boss, mine = Client(), Client()
    boss.force_login(people["supervisor"])
    mine.force_login(people["manager"])
    page = boss.get(url + "applications").content.decode()
    assert all(a.number in page for a in made[:3]) and made[3].number not in page
    late = boss.get(url + "late").content.decode()
    assert made[2].number in late and made[0].number not in late
    # The manager reads the figure but sees only their own applications behind it.
    page = mine.get(url + "applications").content.decode()
    assert made[0].number in page and made[2].number not in page
    assert 'data-testid="drill-hidden"' in page
    for bad in ("month=2026-13&policy=221", "month=2026-03&policy=x", url[27:] + "nope"):
        response = boss.get("/connections/report/drill/?" + bad)
        assert response.status_code == 400, bad
    assert mine.get("/connections/report/?month=2026-03").status_code == 200
    # An agent (no connections) and an engineer (no statistics) read no figures.
    for who in ("agent", "engineer"):
        other = Client()
        other.force_login(people[who])
        assert other.get(url + "applications").status_code == 403
        assert other.get("/connections/report/").status_code == 403
