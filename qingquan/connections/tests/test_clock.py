"""The "221" clock (R-CON-1/2/7): utility time only, on the official calendar; the
contract and the payment pause it; the payment notify resumes it; the "431" path."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from qingquan.connections import services
from qingquan.connections.models import Application, AppState, ClockPause, FeeItem, ManagerCall
from qingquan.core.models import Notification
from qingquan.payments.models import OrderStatus
from qingquan.payments.providers import SandboxProvider
from qingquan.payments.services import notify_handle

from .conftest import sh

pytestmark = pytest.mark.django_db


def pay(order: Any, **kwargs: Any) -> Any:
    headers, body = SandboxProvider(order.provider).notify_for(order, **kwargs)
    return notify_handle(provider_name=order.provider, headers=headers, body=body)


def fees() -> list[tuple[FeeItem, Any]]:
    return [(FeeItem.objects.get(code="meter-dn20"), 1), (FeeItem.objects.get(code="pipe-dn25"), 6)]


def walk_to_quote(app: Any, people: dict[str, Any], at: Any, accept: Any, quote: Any) -> Any:
    at(accept)
    app = services.step_complete(
        actor=people["manager"], application=app, engineer=people["engineer"]
    )
    at(quote)
    services.quote_issue(actor=people["engineer"], application=app, lines=fees())
    app.refresh_from_db()
    return app


def test_221_over_a_weekend_with_contract_and_payment(at: Any, apply: Any, people: Any) -> None:
    at(sh(2026, 3, 5, 10))  # Thursday
    app = apply()
    assert app.policy.code == "221"
    # Two working days of the utility's time: Thursday 10:00 → Monday 10:00.
    assert app.deadline == sh(2026, 3, 9, 10)
    app = walk_to_quote(app, people, at, sh(2026, 3, 5, 11), sh(2026, 3, 5, 15))
    assert app.deadline is None  # the applicant's turn: the clock stands still
    assert ClockPause.objects.get(application=app).reason == "contract"
    at(sh(2026, 3, 7, 10))  # Saturday: the applicant signs at home
    quote = services.contract_acknowledge(actor=people["manager"], application=app, signer="张经理")
    assert quote.signed_at == sh(2026, 3, 7, 10) and quote.order is not None
    assert quote.order.amount == Decimal("950.00")  # 380 + 6 × 95
    at(sh(2026, 3, 8, 20))  # Sunday evening: scanned and paid
    assert pay(quote.order).outcome == "paid"
    app.refresh_from_db()
    # 5 h used on Thursday; 43 h left from Monday 00:00 → Tuesday 19:00.
    assert app.deadline == sh(2026, 3, 10, 19)
    assert not ClockPause.objects.filter(application=app, ended_at__isnull=True).exists()
    at(sh(2026, 3, 10, 12))
    app = services.step_complete(actor=people["engineer"], application=app)
    app.refresh_from_db()
    assert app.state == AppState.WATER_ON and app.on_time
    assert app.utility_seconds == 41 * 3600  # 5 h Thursday + Monday + 12 h Tuesday
    # Thursday 15:00–24:00 and Friday are the customer's (the weekend is not worked).
    assert app.customer_seconds == 33 * 3600
    # The manager's twice-yearly calls start six months after water on.
    assert ManagerCall.objects.get(application=app).due_on.isoformat() == "2026-09-10"


def test_221_over_the_spring_festival(at: Any, apply: Any, people: Any) -> None:
    at(sh(2026, 2, 13, 10))  # Friday before the Spring Festival
    app = apply()
    app = walk_to_quote(app, people, at, sh(2026, 2, 13, 11), sh(2026, 2, 13, 14))
    at(sh(2026, 2, 14, 10))  # Saturday 14 February is an adjusted working day (调休)
    quote = services.contract_acknowledge(actor=people["manager"], application=app, signer="李")
    at(sh(2026, 2, 20, 12))  # paid during the holiday
    pay(quote.order)
    app.refresh_from_db()
    # 4 h used; 44 h left, counted from Tuesday 24 February (the first working day).
    assert app.deadline == sh(2026, 2, 25, 20)
    at(sh(2026, 2, 24, 16))
    app = services.step_complete(actor=people["engineer"], application=app)
    app.refresh_from_db()
    assert app.utility_seconds == 20 * 3600 and app.on_time
    # Friday 14:00–24:00 and the worked Saturday are the customer's time.
    assert app.customer_seconds == 34 * 3600


def test_payment_for_the_wrong_amount_leaves_the_clock_paused(
    at: Any, apply: Any, people: Any
) -> None:
    at(sh(2026, 3, 2, 9))
    app = walk_to_quote(apply(), people, at, sh(2026, 3, 2, 10), sh(2026, 3, 2, 11))
    quote = services.contract_acknowledge(actor=people["manager"], application=app, signer="王")
    assert pay(quote.order, amount_fen=100).outcome == "amount mismatch"
    app.refresh_from_db()
    assert app.deadline is None
    assert ClockPause.objects.get(application=app, ended_at__isnull=True).reason == "payment"
    with pytest.raises(services.Refused, match="not paid"):
        services.step_complete(actor=people["engineer"], application=app)
    assert pay(quote.order).outcome == "paid"
    assert quote.order is not None
    quote.order.refresh_from_db()
    assert quote.order.status == OrderStatus.PAID
    app.refresh_from_db()
    assert app.deadline is not None
    assert pay(quote.order).outcome == "repeat"  # a repeated notify changes nothing
    assert ClockPause.objects.filter(application=app).count() == 2


def test_431_path_for_external_works(at: Any, apply: Any, people: Any) -> None:
    at(sh(2026, 3, 2, 9))  # Monday
    app = apply(pipe_mm=100, external_works=True)
    assert app.policy.code == "431"
    assert "DN100" in app.eligibility and "external" in app.eligibility.lower()
    assert app.steps.count() == 3
    assert app.deadline == sh(2026, 3, 6, 9)  # 4 working days
    at(sh(2026, 3, 2, 10))
    app = services.step_complete(
        actor=people["manager"], application=app, engineer=people["engineer"]
    )
    at(sh(2026, 3, 3, 10))
    app = services.step_complete(actor=people["engineer"], application=app)
    at(sh(2026, 3, 4, 10))
    app = services.step_complete(actor=people["engineer"], application=app)
    app.refresh_from_db()
    assert app.state == AppState.WATER_ON and app.utility_seconds == 2 * 86400 + 3600


def test_customer_works_pause_needs_evidence_and_moves_the_deadline(
    at: Any, apply: Any, people: Any
) -> None:
    at(sh(2026, 3, 2, 9))
    app = apply()
    with pytest.raises(services.Refused, match="evidence"):
        services.pause_start(
            actor=people["manager"], application=app, reason="customer_works", evidence=" "
        )
    services.pause_start(
        actor=people["manager"],
        application=app,
        reason="customer_works",
        evidence="现场照片：室内管道未完工",
    )
    at(sh(2026, 3, 3, 9))
    services.pause_end(actor=people["manager"], application=app)
    app.refresh_from_db()
    assert app.deadline == sh(2026, 3, 5, 9)


def test_warnings_reach_the_manager_and_supervisor_once(at: Any, apply: Any, people: Any) -> None:
    at(sh(2026, 3, 2, 9))
    app = apply()
    at(sh(2026, 3, 3, 20))  # 35 h of 48 used: not yet the 75 % share
    assert services.clock_sweep() == 0
    at(sh(2026, 3, 3, 22))  # 37 h: past it
    assert services.clock_sweep() == 2
    assert services.clock_sweep() == 0
    assert Notification.objects.filter(recipient=people["manager"], level="warning").exists()
    assert Notification.objects.filter(recipient=people["supervisor"], level="warning").exists()
    at(sh(2026, 3, 4, 10))
    assert services.clock_sweep() == 2
    assert Application.objects.get(pk=app.pk).breached_at is not None
