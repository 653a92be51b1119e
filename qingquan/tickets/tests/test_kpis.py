"""SPEC KPIs on crafted cases with exact expected figures."""

from __future__ import annotations

from typing import Any

import pytest

from qingquan.tickets import kpis, services, tasks

from .conftest import sh

pytestmark = pytest.mark.django_db

MARCH: dict[str, Any] = {"start": sh(2026, 3, 1), "end": sh(2026, 4, 1)}


@pytest.fixture
def crafted(at: Any, new_case: Any, people: Any) -> dict[str, Any]:
    agent, agent2 = people["agent"], people["agent2"]

    def resolve(case: Any, when: Any, who: Any = agent) -> Any:
        at(when)
        return services.ticket_resolve(
            actor=who, ticket=case, version=case.version, resolution="办结"
        )

    at(sh(2026, 2, 27, 20))
    d = new_case("repair-burst", channel="phone")  # February; due 28 Feb 20:00
    at(sh(2026, 3, 2, 9))
    a = new_case("consult-policy", channel="phone")
    at(sh(2026, 3, 3, 9))
    b = new_case("consultation", channel="wechat", actor=agent2)  # due 4 Mar 09:00
    at(sh(2026, 3, 10, 9))
    c = new_case("bill", channel="phone")  # stays open
    at(sh(2026, 3, 31, 10))
    e = new_case("complaint", channel="phone")
    cases = {
        "a": resolve(a, sh(2026, 3, 2, 15)),  # on time
        "d": resolve(d, sh(2026, 3, 1, 10)),  # resolved in March, late
        "b": resolve(b, sh(2026, 3, 5, 9), agent2),  # late
        "e": resolve(e, sh(2026, 4, 1, 9)),  # created in March, resolved in April
        "c": c,
    }
    at(sh(2026, 4, 10, 12))
    tasks.sweep()  # flags c: its deadline (11 March) passed while it was open
    return cases


def one(figures: list[kpis.Figure]) -> tuple[int, int, float | None]:
    (figure,) = figures
    return figure.numerator, figure.denominator, figure.rate


def table(figures: list[kpis.Figure]) -> dict[str | None, tuple[int, int]]:
    return {f.key: (f.numerator, f.denominator) for f in figures}


def test_closure_rate_counts_cases_created_in_the_period(crafted: Any) -> None:
    assert one(kpis.closure_rate(**MARCH)) == (3, 4, 0.75)
    assert table(kpis.closure_rate(**MARCH, by="channel")) == {"phone": (2, 3), "wechat": (1, 1)}
    assert table(kpis.closure_rate(**MARCH, by="kind")) == {
        "bill": (0, 1),
        "complaint": (1, 1),
        "consultation": (2, 2),
    }
    assert table(kpis.closure_rate(**MARCH, by="subkind")) == {
        "bill": (0, 1),
        "complaint": (1, 1),
        "consult-policy": (1, 1),
        "consultation": (1, 1),
    }
    feb = kpis.closure_rate(start=sh(2026, 2, 1), end=sh(2026, 3, 1))
    assert one(feb) == (1, 1, 1.0)


def test_on_time_rate_counts_each_case_once_open_past_its_deadline_is_late(
    crafted: Any, people: Any
) -> None:
    # March: a on time; b late (deadline 4 March, resolved the 5th); c late (deadline 11
    # March passed while open). d's deadline passed on 28 February: late in February,
    # although it was resolved in March.
    numerator, denominator, rate = one(kpis.on_time_rate(**MARCH))
    assert (numerator, denominator) == (1, 3)
    assert rate == pytest.approx(1 / 3)
    by_owner = table(kpis.on_time_rate(**MARCH, by="owner"))
    assert by_owner == {people["agent"].username: (1, 2), people["agent2"].username: (0, 1)}
    assert table(kpis.on_time_rate(**MARCH, by="kind")) == {
        "bill": (0, 1),
        "consultation": (1, 2),
    }
    february = kpis.on_time_rate(start=sh(2026, 2, 1), end=sh(2026, 3, 1))
    assert one(february) == (0, 1, 0.0)
    april = kpis.on_time_rate(start=sh(2026, 4, 1), end=sh(2026, 5, 1))
    assert one(april) == (1, 1, 1.0)  # the complaint, within 3 working days


def test_empty_period_has_no_rate(db: Any) -> None:
    assert one(kpis.closure_rate(start=sh(2020, 1, 1), end=sh(2020, 2, 1))) == (0, 0, None)


def test_unknown_breakdown_is_refused(db: Any) -> None:
    with pytest.raises(ValueError, match="unknown breakdown"):
        kpis.closure_rate(**MARCH, by="colour")
