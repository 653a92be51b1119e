"""The working-day calendar table: seeded by migration, edited by administrators."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from qingquan.core.calendar import calendar_set_day, load_calendar
from qingquan.core.models import AuditEvent, CalendarDay

pytestmark = pytest.mark.django_db


def test_migration_seeded_2026_with_adjusted_working_days():
    assert CalendarDay.objects.get(date=dt.date(2026, 2, 14)).is_working_day  # 调休 Saturday
    assert not CalendarDay.objects.get(date=dt.date(2026, 2, 17)).is_working_day  # 春节
    assert CalendarDay.objects.get(date=dt.date(2026, 9, 20)).is_working_day  # 调休 Sunday
    calendar = load_calendar()
    # Whole years up to the last one the installed chinesecalendar publishes, then a gap.
    last = max(calendar.years)
    assert last >= 2026 and set(range(2004, last + 1)) <= calendar.years
    assert calendar.covers(dt.date(last, 12, 31)) and not calendar.covers(dt.date(last + 1, 1, 1))


def test_administrator_enters_next_year_and_the_cache_sees_it(administrator):
    before = load_calendar()
    year = max(before.years) + 1  # the first year the seed did not cover
    assert not before.covers(dt.date(year, 6, 1))
    day = dt.date(year, 1, 1)
    for offset in range((dt.date(year + 1, 1, 1) - day).days):
        current = day + dt.timedelta(days=offset)
        CalendarDay.objects.create(
            date=current, is_working_day=current.weekday() < 5, source="manual"
        )
    calendar_set_day(actor=administrator, day=day, is_working_day=False, note="元旦")
    after = load_calendar()
    assert after.covers(dt.date(year, 6, 1))
    assert not after.is_working_day(day)
    assert AuditEvent.objects.filter(action="calendar.set_day").count() == 1


def test_calendar_edit_through_admin_uses_the_service(administrator):
    client = Client()
    client.force_login(administrator)
    row = CalendarDay.objects.get(date=dt.date(2026, 10, 10))
    response = client.post(
        f"/admin/core/calendarday/{row.pk}/change/",
        {"date": "2026-10-10", "is_working_day": "", "note": "台风停工"},
    )
    assert response.status_code == 302
    row.refresh_from_db()
    assert not row.is_working_day and row.source == "manual" and row.note == "台风停工"
