from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.test import Client

from qingquan.core.actors import SYSTEM
from qingquan.customers import services
from qingquan.customers.tests import factories as f
from qingquan.messaging.models import Message

PHONE = "13911112222"


@pytest.fixture
def billed_account(db: Any) -> Any:
    """An account of 周美华 (ID on record ending 002X) with two unpaid bills."""
    cust = f.customer(name="周美华", phones=("13566667777",), id_number="11010519491231002X")
    acc = f.account(cust, number="3302888001", road="药行街20号")
    f.read(acc, dt.date(2023, 1, 31), "22")
    f.read(acc, dt.date(2023, 2, 28), "41")
    for start, end in [((2023, 1, 1), (2023, 1, 31)), ((2023, 2, 1), (2023, 2, 28))]:
        services.bill_issue(
            actor=SYSTEM, account=acc, period_start=dt.date(*start), period_end=dt.date(*end)
        )
    return acc


def last_code(phone: str = PHONE) -> str:
    """The code in the last login SMS to `phone` (what the fake gateway receives)."""
    msg = Message.objects.filter(source="portal.login", to=f"+86{phone}").order_by("-id").first()
    assert msg is not None
    found = re.search(r"\d{6}", msg.body)
    assert found and msg.params["code"] == found.group(0)
    return found.group(0)


def portal_login(client: Client, phone: str = PHONE) -> Client:
    r = client.post("/portal/login/", {"phone": phone, "action": "send"})
    assert r.status_code == 200, r.content
    r = client.post(
        "/portal/login/", {"phone": phone, "action": "verify", "code": last_code(phone)}
    )
    assert r.status_code == 302 and r["Location"] == "/portal/"
    return client


@pytest.fixture
def resident_client(db: Any, supervisor: Any) -> Client:
    return portal_login(Client())
