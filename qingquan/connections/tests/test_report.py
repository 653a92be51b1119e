"""The monthly report on a fixed data set: averages, the 90th percentile, on-time, the
customer's time apart and the reductions against 4.8 days / 5 steps / 4 documents."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from qingquan.connections import services
from qingquan.connections.report import monthly_report
from qingquan.core.access import AccessDenied

from .conftest import sh

pytestmark = pytest.mark.django_db


def connect(at: Any, apply: Any, people: Any, start: Any, accept: Any, done: Any, **kw: Any) -> Any:
    at(start)
    app = apply(**kw)
    at(accept)
    app = services.step_complete(actor=app.manager, application=app, engineer=people["engineer"])
    count = app.steps.count()
    for _ in range(count - 1):
        at(done)
        app = services.step_complete(actor=people["engineer"], application=app)
    return app


def test_report_figures_on_a_fixed_data_set(at: Any, apply: Any, people: Any) -> None:
    # Three 221 connections of 1, 1.5 and 3 working days (the last late), one 431 of 2.
    connect(at, apply, people, sh(2026, 3, 2, 9), sh(2026, 3, 2, 10), sh(2026, 3, 3, 9))
    connect(at, apply, people, sh(2026, 3, 4, 0), sh(2026, 3, 4, 1), sh(2026, 3, 5, 12))
    connect(at, apply, people, sh(2026, 3, 9, 9), sh(2026, 3, 9, 10), sh(2026, 3, 12, 9))
    connect(
        at,
        apply,
        people,
        sh(2026, 3, 16, 9),
        sh(2026, 3, 16, 10),
        sh(2026, 3, 18, 9),
        pipe_mm=100,
    )
    rows = {r.policy: r for r in monthly_report(actor=people["supervisor"], year=2026, month=3)}
    std = rows["221"]
    assert std.applications == 3
    assert std.avg_days == Decimal("1.83")  # (1 + 1.5 + 3) / 3
    assert std.p90_days == Decimal("3.0")
    assert std.steps == Decimal("2.0") and std.documents == Decimal("1.00")
    assert std.on_time_rate == Decimal("66.67")
    assert std.customer_days == Decimal("0.0")
    assert std.days_reduction == Decimal("61.9")  # (4.8 - 1.83) / 4.8
    assert std.steps_reduction == Decimal("60.0") and std.documents_reduction == Decimal("75.0")
    assert rows["431"].avg_days == Decimal("2.0") and rows["431"].steps == Decimal("3.0")
    assert monthly_report(actor=people["supervisor"], year=2026, month=4) == []
    with pytest.raises(AccessDenied):
        monthly_report(actor=people["agent"], year=2026, month=3)
    client = Client()
    client.force_login(people["supervisor"])
    page = client.get("/connections/report/?month=2026-03").content.decode()
    assert "61.9 %" in page and "66.67 %" in page
    assert client.get("/connections/report/?month=bad").status_code == 200
