"""Durations in words (issue #14 item 2): one formatter, both languages, and the template
filters and deadline badge that pages use."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.template import Context, Template
from django.utils import translation

from qingquan.core import clock
from qingquan.core.durations import (
    deadline_text,
    duration_text,
    elapsed_text,
    remaining_text,
)

HOUR = 3600
DAY = 86400


@pytest.mark.parametrize(
    ("seconds", "working", "zh", "en"),
    [
        (DAY + 3 * HOUR, True, "剩余 1 个工作日 3 小时", "1 working day 3 h left"),
        (-(8 * HOUR + 29 * 60 + 40), False, "已超时 8 小时 29 分", "8 h 29 min overdue"),
        (2 * DAY, False, "剩余 2 天", "2 days left"),
        (3 * DAY + 59 * 60, False, "剩余 3 天", "3 days left"),
        (-(30529), False, "已超时 8 小时 28 分", "8 h 28 min overdue"),
        (45 * 60 + 10, False, "剩余 45 分", "45 min left"),
        (20, False, "即将到期", "due now"),
    ],
)
def test_remaining_reads_like_time(seconds: float, working: bool, zh: str, en: str) -> None:
    with translation.override("zh-hans"):
        assert remaining_text(seconds, working_days=working) == zh
    with translation.override("en"):
        assert remaining_text(seconds, working_days=working) == en


def test_the_raw_seconds_of_the_issue_read_as_time() -> None:
    # "已计时 116929 秒;剩余 -30529 秒" from the issue, on a working-day clock.
    with translation.override("zh-hans"):
        assert elapsed_text(116929, working_days=True) == "已计时 1 个工作日 8 小时"
        assert remaining_text(-30529, working_days=True) == "已超时 8 小时 28 分"
    with translation.override("en"):
        assert elapsed_text(116929, working_days=True) == "1 working day 8 h counted"


def test_durations_under_a_minute_and_missing() -> None:
    with translation.override("zh-hans"):
        assert duration_text(42) == "42 秒"
        assert duration_text(None) == "—"
        assert duration_text(HOUR) == "1 小时"
    with translation.override("en"):
        assert duration_text(2 * DAY + 5 * 60) == "2 days"
        assert duration_text(DAY + 5 * 60, parts=3) == "1 day 5 min"


@time_machine.travel(dt.datetime(2026, 12, 3, 9, 0, tzinfo=clock.SHANGHAI), tick=False)
def test_deadline_text_and_badge_on_a_fixed_clock() -> None:
    due = dt.datetime(2026, 12, 4, 12, 30, tzinfo=clock.SHANGHAI)
    past = dt.datetime(2026, 12, 3, 0, 31, tzinfo=clock.SHANGHAI)
    with translation.override("zh-hans"):
        assert deadline_text(due) == "截止 2026-12-04 12:30，剩余 1 天 3 小时"
        html = Template(
            "{% load durations %}{% deadline_badge due 'warning' %}|{% deadline_badge past %}"
        ).render(Context({"due": due, "past": past}))
    assert 'class="deadline deadline-warning"' in html
    assert 'class="deadline deadline-breached"' in html
    assert "已超时 8 小时 29 分" in html
    with translation.override("en"):
        assert deadline_text(past) == "due 2026-12-03 00:31, 8 h 29 min overdue"
        html = Template("{% load durations %}{{ s|remaining:'working' }}").render(
            Context({"s": DAY + 3 * HOUR})
        )
    assert html == "1 working day 3 h left"
