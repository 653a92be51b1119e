"""The API keeps time limits in seconds and adds them in words (issue #14 item 2)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from .conftest import sh

pytestmark = pytest.mark.django_db


def test_case_clock_in_seconds_and_in_words(at: Any, people: Any, org: Any) -> None:
    at(sh(2026, 3, 2, 9))
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(people["agent"])
    client.cookies["django_language"] = "en"
    payload = {
        "kind": "repair-leak",
        "channel": "wechat",
        "subject": "小区门口漏水",
        "caller_phone": "13800001111",
        "address": "鄞州区天童南路1号",
    }
    created = client.post("/api/v1/tickets/", json.dumps(payload), content_type="application/json")
    number = created.json()["number"]
    # 48 h on calendar time: due Wednesday 09:00. Monday 18:31: 38 h 29 min left.
    assert created.json()["resolution_deadline_text"] == "due 2026-03-04 09:00, 2 days left"
    at(sh(2026, 3, 2, 18, 31))
    clock = client.get(f"/api/v1/tickets/{number}").json()["clock"]
    assert clock["remaining_seconds"] == 38 * 3600 + 29 * 60
    assert clock["remaining_text"] == "1 day 14 h left"
    assert clock["elapsed_text"] == "9 h 31 min counted"
    assert clock["deadline_text"] == "2026-03-04 09:00"
    at(sh(2026, 3, 4, 17, 30))
    client.force_login(people["agent"])  # two days later: a new session
    client.cookies["django_language"] = "zh-hans"
    clock = client.get(f"/api/v1/tickets/{number}").json()["clock"]
    assert clock["remaining_seconds"] < 0 and clock["remaining_text"] == "已超时 8 小时 30 分"
    schema = client.get("/api/v1/openapi.json").json()["components"]["schemas"]
    assert (
        "剩余 1 个工作日 3 小时"
        in schema["ClockOut"]["properties"]["remaining_text"]["description"]
    )
