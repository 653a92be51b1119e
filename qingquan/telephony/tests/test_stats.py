"""Call statistics on a fixed data set: offered, answered, abandoned (and after how long),
answer rate, ASA, service level, IVR completion, callbacks; by hour, line, queue and agent;
on the statistics page, in the Excel export and on the wallboard."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from django.test import Client
from django.utils import translation

from qingquan.core import clock
from qingquan.staff.roles import Role
from qingquan.telephony import stats
from qingquan.telephony.ivr import ivr_pbx
from qingquan.telephony.models import (
    Call,
    CallbackAttempt,
    CallbackRequest,
    CallOutcome,
    CallState,
)

DAY = dt.date(2026, 12, 2)


def at(hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(2026, 12, 2, hour, minute, second, tzinfo=clock.SHANGHAI)


@pytest.fixture
def data(make_user: Any) -> dict[str, Any]:
    """09:00–10:59 on 2 December 2026 (Shanghai): 8 inbound calls and 2 callbacks."""
    pbx = ivr_pbx()
    wang = make_user(Role.AGENT, full_name="王", extension="8001")
    li = make_user(Role.AGENT, full_name="李", extension="8002")
    n = iter(range(100))

    def call(rang: dt.datetime, wait: int | None, outcome: str, **kw: Any) -> Call:
        answered = rang + dt.timedelta(seconds=wait or 0) if outcome == "answered" else None
        ended = (answered or rang + dt.timedelta(seconds=wait or 0)) + dt.timedelta(seconds=60)
        if outcome == "abandoned":
            ended = rang + dt.timedelta(seconds=wait or 0)
        return Call.objects.create(
            pbx=pbx,
            call_id=f"s{next(n)}",
            from_number="13800005678",
            rang_at=rang,
            answered_at=answered,
            ended_at=ended,
            state=CallState.ENDED,
            outcome=outcome,
            **kw,
        )

    # 09:xx — line1: two answered from the IVR (10 s and 30 s), one served in the IVR.
    call(at(9, 1), 10, "answered", line="line1", queue="repair", agent=wang)
    call(at(9, 5), 30, "answered", line="line1", queue="billing", agent=li)
    first = call(at(9, 10), None, CallOutcome.SELF_SERVICE, line="line1", queue="ivr")
    # 09:xx — line2: abandoned after 5 s and 45 s.
    call(at(9, 20), 5, "abandoned", line="line2", queue="repair")
    call(at(9, 30), 45, "abandoned", line="line2", queue="repair")
    # 10:xx — an outside PBX (no line): answered after 15 s; abandoned after 90 s.
    call(at(10, 0), 15, "answered", queue="repair", agent=wang)
    call(at(10, 30), 90, "abandoned", queue="billing")
    # A rejected (blocked) call is not offered; the next day's calls are out of the period.
    call(at(10, 40), 0, CallOutcome.REJECTED)
    call(at(9, 0) + dt.timedelta(days=1), 3, "answered", queue="repair", agent=wang)
    request = CallbackRequest.objects.create(
        number="13800005678", skill="repair", call=first, created_at=at(9, 11)
    )
    CallbackRequest.objects.create(number="13900000000", skill="billing", created_at=at(10, 5))
    CallbackAttempt.objects.create(request=request, agent=li, outcome="no_answer", at=at(10, 20))
    CallbackAttempt.objects.create(request=request, agent=wang, outcome="reached", at=at(10, 50))
    return {"wang": wang, "li": li}


@pytest.mark.django_db
def test_the_period_overall(data: Any, supervisor: Any) -> None:
    start, end = at(0), at(0) + dt.timedelta(days=1)
    (row,) = stats.call_figures(user=supervisor, start=start, end=end)
    assert (row.offered, row.answered, row.abandoned) == (6, 3, 3)
    assert row.answer_rate == 0.5
    assert row.asa == round((10 + 30 + 15) / 3)  # 18 s
    assert row.service_level == 2 / 6  # 10 s and 15 s within 20 s
    assert row.abandon_wait == round((5 + 45 + 90) / 3)
    assert row.abandon_buckets == [("≤10 s", 1), ("10–30 s", 0), ("30–60 s", 1), (">60 s", 1)]
    assert (row.ivr_calls, row.ivr_served) == (5, 1) and row.ivr_completion == 0.2
    assert (row.callbacks_requested, row.callbacks_made) == (2, 2)


@pytest.mark.django_db
def test_by_hour_line_queue_and_agent(data: Any, supervisor: Any) -> None:
    start, end = at(0), at(0) + dt.timedelta(days=1)

    def table(by: str) -> dict[str, tuple[int, ...]]:
        rows = stats.call_figures(user=supervisor, start=start, end=end, by=by)
        return {
            (r.label if by == "agent" else str(r.key)): (
                r.offered,
                r.answered,
                r.abandoned,
                r.callbacks_requested,
                r.callbacks_made,
            )
            for r in rows
        }

    assert table("hour") == {"9": (4, 2, 2, 1, 0), "10": (2, 1, 1, 1, 2)}
    by_line = table("line")
    assert by_line["line1"] == (2, 2, 0, 1, 2) and by_line["line2"] == (2, 0, 2, 0, 0)
    assert by_line[""][:3] == (2, 1, 1)
    by_queue = table("queue")
    assert by_queue["billing"] == (2, 1, 1, 1, 0) and by_queue["repair"] == (4, 2, 2, 1, 2)
    with translation.override("en"):
        labels = {
            r.key: r.label
            for r in stats.call_figures(user=supervisor, start=start, end=end, by="queue")
        }
    assert labels["billing"] == "Bills and payments" and labels["repair"] == "Repairs"
    by_agent = table("agent")
    assert by_agent["王"] == (2, 2, 0, 0, 1) and by_agent["李"] == (1, 1, 0, 0, 1)
    rows = stats.call_figures(user=supervisor, start=start, end=end, by="line")
    assert next(r for r in rows if r.key == "line1").ivr_completion == 1 / 3


@pytest.mark.django_db
def test_only_readers_of_statistics_or_the_wallboard(data: Any, agent: Any) -> None:
    from qingquan.core.access import AccessDenied

    with pytest.raises(AccessDenied):
        stats.call_figures(user=agent, start=at(0), end=at(23))


@pytest.mark.django_db
def test_statistics_page_excel_and_wallboard(data: Any, supervisor: Any) -> None:
    from openpyxl import load_workbook

    client = Client()
    client.force_login(supervisor)
    page = client.get(f"/reports/?period=day&date={DAY.isoformat()}&calls_by=agent")
    text = page.content.decode()
    assert page.status_code == 200 and 'data-testid="calls"' in text
    assert 'data-figure="offered">6<' in text and "50.00%" in text and "王" in text
    assert client.get("/reports/?period=day&calls_by=nonsense").status_code == 400
    book = client.get(f"/reports/export.xlsx?period=day&date={DAY.isoformat()}&calls_by=hour")
    sheet = load_workbook(io.BytesIO(book.content))["话务"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][1:4] == (6, 3, 3) and rows[2][0] == "09:00–09:59"
    # The wallboard shows today's figures with the same definitions.
    with_today = clock.now()
    Call.objects.update(rang_at=with_today - dt.timedelta(minutes=1))
    board = client.get("/console/wallboard/").content.decode()
    assert 'data-testid="answer-rate"' in board and 'data-testid="ivr-completion"' in board


def test_the_demo_call_history_fills_the_statistics(make_user: Any) -> None:
    # A fresh demo shows call figures: answered and abandoned calls through the CTI
    # events, contacts for each, two callers waiting for a callback, the agents signed
    # out again; seeding twice adds nothing.
    from qingquan.telephony.demo import seed_call_history
    from qingquan.telephony.models import AgentState, AgentStatus

    supervisor = make_user(Role.SUPERVISOR)
    agents = [make_user(Role.AGENT, extension=f"80{n:02d}") for n in range(3)]
    now = dt.datetime(2026, 12, 2, 15, 30, tzinfo=clock.SHANGHAI)
    made = seed_call_history(days=2, now=now)
    assert made == Call.objects.count() > 40
    assert seed_call_history(days=2, now=now) == 0
    assert not Call.objects.filter(rang_at__gt=now).exists()
    start = dt.datetime(2026, 11, 30, tzinfo=clock.SHANGHAI)
    total = stats.total_of(
        stats.call_figures(user=supervisor, start=start, end=now + dt.timedelta(hours=1))
    )
    assert total.offered == made == total.answered + total.abandoned
    assert total.abandoned > 0 and total.asa is not None
    assert Call.objects.filter(outcome=CallOutcome.ANSWERED, contact__isnull=False).count() == (
        total.answered
    )
    assert CallbackRequest.objects.filter(call__outcome=CallOutcome.ABANDONED).count() == 2
    states = AgentState.objects.filter(user__in=agents).values_list("status", flat=True)
    assert set(states) == {AgentStatus.OFFLINE}
