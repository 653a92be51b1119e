"""Raw SQL compares datetimes as the ORM stores them, on both databases: a row stored at
an instant is not before that instant, whatever offset the parameter carries (on SQLite
the default adapter wrote "+00:00" and the text sorted a stored instant before itself)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.contrib.sessions.models import Session
from django.db import connection

pytestmark = pytest.mark.django_db

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def _before(instant: dt.datetime) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM django_session WHERE session_key = %s AND expire_date < %s",
            ["raw-datetime", instant],
        )
        return int(cursor.fetchone()[0])


@pytest.mark.parametrize("micro", [0, 250_000])
def test_a_stored_instant_is_not_before_itself(micro: int) -> None:
    stored = dt.datetime(2026, 3, 3, 0, 0, 0, micro, tzinfo=dt.UTC)
    Session.objects.create(session_key="raw-datetime", session_data="", expire_date=stored)
    assert _before(stored) == 0
    assert _before(stored.astimezone(SHANGHAI)) == 0  # the same instant at +08:00
    assert _before(stored + dt.timedelta(microseconds=1)) == 1
    assert _before((stored + dt.timedelta(seconds=1)).astimezone(SHANGHAI)) == 1
    assert _before(stored - dt.timedelta(hours=7)) == 0
