"""Console test helpers: a PBX, a call answered by an agent, a known caller with bills."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest

from qingquan.core.actors import SYSTEM
from qingquan.customers import services as customer_services
from qingquan.customers.tests import factories as cf
from qingquan.telephony import services as telephony

TOKEN = "console-test-pbx-token-0001"
_ids = itertools.count(1)


@pytest.fixture(autouse=True)
def case_kinds(request: Any) -> None:
    """The default case kinds and this year's working-day calendar: data migrations seed
    them, but a transactional test that ran earlier flushes every table (these tests do
    not use serialized_rollback, which breaks on content types after such a flush).
    Idempotent: only what is missing is created."""
    if request.node.get_closest_marker("django_db") is None:
        return
    request.getfixturevalue("_django_db_helper")
    from qingquan.tickets.kinds_seed import seed
    from qingquan.tickets.models import CaseKind, SlaPolicy

    seed(SlaPolicy, CaseKind)
    from qingquan.core import clock
    from qingquan.core.calendar import calendar_seed
    from qingquan.core.models import CalendarDay

    year = clock.today().year
    if not CalendarDay.objects.filter(date__year=year).exists():
        calendar_seed(years=[year - 1, year, year + 1])


@pytest.fixture
def pbx(db: Any) -> Any:
    return telephony.pbx_create(actor=SYSTEM, name="PBX-T", token=TOKEN)[0]


@pytest.fixture
def known_caller(db: Any) -> Any:
    cust = cf.customer(name="周美华", phones=("13566667777",), elderly_or_impaired=True)
    acc = cf.account(cust, number="3302888001", road="药行街20号")
    cf.read(acc, dt.date(2023, 1, 31), "22")
    customer_services.bill_issue(
        actor=SYSTEM, account=acc, period_start=dt.date(2023, 1, 1), period_end=dt.date(2023, 1, 31)
    )
    return cust


def answer_call(pbx: Any, agent: Any, number: str) -> Any:
    """Ring and answer a call from `number` on `agent`'s extension; returns the Call."""
    call_id = f"call-{next(_ids)}"
    for kind in ("ring", "answer"):
        event = telephony.parse_event(
            {
                "event_id": f"{call_id}-{kind}",
                "type": kind,
                "call_id": call_id,
                "from": number,
                "to": "96390",
                "extension": agent.extension if kind == "answer" else "",
            }
        )
        result = telephony.call_event_handle(pbx=pbx, event=event)
    return result.call
