"""A small network (network/tests/helpers.py) with premises: three accounts near J4 (cut
off when P4 bursts, one a hospital), one near J1 (never), and a fake gateway."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from qingquan.core import clock

NEAR_J4 = {"longitude": 121.5541, "latitude": 29.8701}
NEAR_J1 = {"longitude": 121.5511, "latitude": 29.8701}


@pytest.fixture
def town(tmp_path: Any) -> dict[str, Any]:
    from qingquan.core.actors import SYSTEM
    from qingquan.customers.critical import customer_critical_set
    from qingquan.customers.models import CriticalKind
    from qingquan.customers.tests.factories import account, customer, premise
    from qingquan.network.tests.helpers import import_small

    import_small(tmp_path)
    place = premise(**NEAR_J4, room="0401")
    hospital = customer(
        name="宁波市第一医院",
        phones=("13900000001",),
        kind="organisation",
        uscc="91110000600037341L",
    )
    customer_critical_set(actor=SYSTEM, customer=hospital, kind=CriticalKind.HOSPITAL)
    a1 = account(cust=hospital, premise=place, kind="non_residential", number="3302990001")
    wang = customer(name="王小明", phones=("13900000002",))
    a2 = account(cust=wang, premise=place, number="3302990002")
    li = customer(name="李四", phones=("13900000003",))
    a3 = account(cust=li, premise=premise(**NEAR_J4, room="0402"), number="3302990003")
    far = customer(name="赵六", phones=("13900000009",))
    a4 = account(cust=far, premise=premise(**NEAR_J1, room="0101"), number="3302990009")
    return {"accounts": [a1, a2, a3], "far": a4, "place": place, "wang": wang}


def when(hours: float) -> dt.datetime:
    return clock.now() + dt.timedelta(hours=hours)


@pytest.fixture
def draft(town: Any, supervisor: Any) -> Any:
    from qingquan.notices import services

    return services.notice_create(
        actor=supervisor,
        kind="unplanned",
        title="解放南路爆管抢修",
        area_source="plan",
        pipe="P4",
        starts_at=when(0.5),
        expected_end_at=when(6),
        reason="DN150 管道爆裂抢修",
        alternative_supply="解放南路12号门口送水车",
        contact="96390",
    )


@pytest.fixture
def gateway(settings: Any) -> Iterator[Any]:
    """The fake SMS gateway and WeChat server in a thread, the settings pointing at it."""
    from qingquan.messaging import gateways
    from qingquan.messaging.fake import FakeGateways

    fake = FakeGateways(receipts_to="", receipt_token="t").start()
    settings.MESSAGING = {
        **settings.MESSAGING,
        "SMS_ENDPOINT": f"{fake.url}/sms/",
        "WECHAT_ENDPOINT": f"{fake.url}/wechat/",
        "RECEIPT_TOKEN": "t",
        "QUIET_HOURS": (0, 0),
        "RATE_PER_SECOND": {"sms": 0, "wechat": 0, "email": 0},
        "BACKOFF_SECONDS": 10,
    }
    gateways.reset()
    yield fake
    fake.stop()
    gateways.reset()


from qingquan.console.tests.conftest import pbx  # noqa: E402, F401  (a phone system for calls)
