"""The SPEC KPIs from the rollups, on crafted data with exact figures; drill-down rows
match every figure; the tickets app's own KPI selectors agree."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from qingquan.core.actors import SYSTEM
from qingquan.reports import rollup, selectors
from qingquan.reports.periods import Period, period
from qingquan.tickets import kpis

from . import scenario

pytestmark = pytest.mark.django_db

MARCH = period("month", dt.date(2026, 3, 1))


@pytest.fixture
def crafted(at: Any, new_case: Any, people: Any) -> dict[str, Any]:
    return scenario.build(at, new_case, people)


def test_march_figures_are_exact(crafted: Any, people: Any) -> None:
    (row,) = selectors.kpi_table(user=people["supervisor"], period=MARCH)
    assert {k: row.as_dict()[k] for k in scenario.MARCH} == scenario.MARCH
    assert row.closure_rate == pytest.approx(3 / 5)
    assert row.on_time_rate == pytest.approx(1 / 4)
    (february,) = selectors.kpi_table(user=people["supervisor"], period=MARCH.previous())
    assert (february.on_time, february.late) == (0, 1)  # d: its deadline passed in February
    # Unreachable is counted and shown, but not in the satisfaction denominator.
    assert row.rated == 3
    assert row.satisfaction == pytest.approx(2 / 3)
    assert row.cb_unreachable == 1


def test_rollups_agree_with_the_tickets_kpis(crafted: Any, people: Any) -> None:
    span: dict[str, Any] = {"start": MARCH.start_at, "end": MARCH.end_at}
    (closure,) = kpis.closure_rate(**span)
    (on_time,) = kpis.on_time_rate(**span)
    (row,) = selectors.kpi_table(user=people["supervisor"], period=MARCH)
    assert (row.done, row.created) == (closure.numerator, closure.denominator)
    assert (row.on_time, row.timed) == (on_time.numerator, on_time.denominator)
    by_channel = {
        r.key: (r.done, r.created)
        for r in selectors.kpi_table(user=people["supervisor"], period=MARCH, by="channel")
    }
    assert by_channel == {
        f.key: (f.numerator, f.denominator) for f in kpis.closure_rate(**span, by="channel")
    }
    by_kind = {
        r.key: (r.on_time, r.timed)
        for r in selectors.kpi_table(user=people["supervisor"], period=MARCH, by="kind")
        if r.timed
    }
    assert by_kind == {
        f.key: (f.numerator, f.denominator) for f in kpis.on_time_rate(**span, by="kind")
    }


def test_breakdowns(crafted: Any, people: Any) -> None:
    sup = people["supervisor"]
    channel = {r.key: r for r in selectors.kpi_table(user=sup, period=MARCH, by="channel")}
    assert (channel["wechat"].created, channel["wechat"].cb_unreachable) == (1, 1)
    assert (channel["phone"].created, channel["phone"].contacts) == (4, 4)
    agent = {r.key: r for r in selectors.kpi_table(user=sup, period=MARCH, by="agent")}
    assert agent[str(people["agent2"].pk)].created == 1
    assert agent[str(people["agent2"].pk)].label == people["agent2"].full_name
    kind = {r.key: r.created for r in selectors.kpi_table(user=sup, period=MARCH, by="kind")}
    assert kind == {"bill": 1, "complaint": 1, "consultation": 3, "repair": 0}
    for by in ("district", "department"):
        rows = selectors.kpi_table(user=sup, period=MARCH, by=by)
        assert sum(r.created for r in rows) == 5


@pytest.mark.parametrize("by", [None, "channel", "kind", "agent", "department", "district"])
def test_every_figure_drills_down_to_as_many_rows(crafted: Any, people: Any, by: Any) -> None:
    sup = people["supervisor"]
    for row in selectors.kpi_table(user=sup, period=MARCH, by=by):
        values = row.as_dict()
        for metric in selectors.METRICS:
            rows = selectors.drill(user=sup, period=MARCH, metric=metric, by=by, key=row.key)
            assert rows.count() == values[metric], (by, row.key, metric)


def test_the_exports_columns_are_every_figure_and_the_three_rates() -> None:
    from qingquan.reports import exports
    from qingquan.reports.models import METRICS

    assert set(exports.COLUMNS) == {"label", *METRICS, *exports.RATES}
    assert len(exports.COLUMNS) == len(set(exports.COLUMNS))


def test_comparison_with_the_previous_period(crafted: Any, people: Any) -> None:
    april = period("month", dt.date(2026, 4, 1))
    result = selectors.comparison(user=people["supervisor"], period=april)
    assert result["previous"].satisfaction == pytest.approx(2 / 3)
    assert result["current"].satisfaction == 1.0
    assert result["satisfaction_change"] == pytest.approx(1 / 3)
    assert result["current"].resolved == 1 and result["current"].on_time == 1


def test_periods() -> None:
    day = dt.date(2026, 5, 20)  # a Wednesday
    assert period("week", day) == Period("week", dt.date(2026, 5, 18), dt.date(2026, 5, 25))
    assert period("quarter", day).start == dt.date(2026, 4, 1)
    assert period("quarter", day).previous() == Period(
        "quarter", dt.date(2026, 1, 1), dt.date(2026, 4, 1)
    )
    assert period("month", dt.date(2026, 1, 9)).previous().start == dt.date(2025, 12, 1)
    custom = period("custom", dt.date(2026, 3, 1), dt.date(2026, 3, 10))
    assert custom.previous() == Period("custom", dt.date(2026, 2, 19), dt.date(2026, 3, 1))


def test_customer_managers_see_their_own_figures(crafted: Any, people: Any, make_user: Any) -> None:
    from qingquan.staff.roles import Role

    manager = make_user(Role.CUSTOMER_MANAGER)
    (row,) = selectors.kpi_table(user=manager, period=MARCH)
    assert row.created == 0
    with pytest.raises(PermissionError):
        selectors.kpi_table(user=people["agent"], period=MARCH)


def test_rollups_match_recomputation_and_survive_reconcile(crafted: Any) -> None:
    from qingquan.reports.models import KpiDaily

    assert rollup.consistency_check() == []
    KpiDaily.objects.filter(day=dt.date(2026, 3, 2)).update(created=99)
    diffs = rollup.consistency_check()
    assert diffs and all(d.measure == "created" for d in diffs)
    assert rollup.reconcile() == len(diffs)
    assert rollup.consistency_check() == []
    # Built from nothing (e.g. rows loaded in bulk, bypassing the listeners).
    from qingquan.reports.models import ContactDaily, TicketContribution

    KpiDaily.objects.all().delete()
    ContactDaily.objects.all().delete()
    TicketContribution.objects.all().delete()
    assert rollup.reconcile() > 0
    assert rollup.consistency_check() == []
    # The stored contributions were rebuilt too: the next change applies a right delta.
    from qingquan.tickets import services

    case = crafted["c"]
    services.ticket_resolve(actor=SYSTEM, ticket=case, version=case.version, resolution="补办")
    assert rollup.consistency_check() == []


def test_consistency_command(crafted: Any) -> None:
    from io import StringIO

    from django.core.management import CommandError, call_command

    from qingquan.reports.models import ContactDaily

    out = StringIO()
    call_command("kpi_consistency", stdout=out)
    assert "consistent" in out.getvalue()
    ContactDaily.objects.all().delete()
    with pytest.raises(CommandError):
        call_command("kpi_consistency", stdout=StringIO())
    call_command("kpi_consistency", "--fix", stdout=StringIO())
    call_command("kpi_consistency", stdout=StringIO())


def test_reconcile_repairs_stale_contributions_even_when_the_rollups_agree(
    crafted: Any, monkeypatch: Any
) -> None:
    from qingquan.reports.models import TicketContribution
    from qingquan.tickets import services

    monkeypatch.setattr(rollup, "CHUNK_SIZE", 2)  # cases are read a chunk at a time
    case = crafted["c"]
    TicketContribution.objects.filter(ticket_id=case.pk).update(rows=[])
    assert rollup.consistency_check() == []  # the day rows still agree
    assert rollup.reconcile() == 1
    assert rollup.reconcile() == 0
    # With the right contribution stored, the next change applies the right delta.
    services.ticket_resolve(actor=SYSTEM, ticket=case, version=case.version, resolution="补办")
    assert rollup.consistency_check() == []
