"""The notice KPIs (issue 18, item 8) on a fixed month: lead time of planned notices and
the 24-hour rule, reach (delivered SMS ÷ frozen recipients), customer-minutes
interrupted and restoration against the expected end; the statistics page with its
drill-down, the Excel and PDF exports, and the public commitments page.

November 2026 (Asia/Shanghai), the test town's accounts:
A planned, 0002 + 0003, published 11-02 09:00 for 11-03 12:00 (27 h: kept), expected end
  18:00, restored 19:00 (+60 min): 2 accounts × 420 min = 840.
B planned, 0001, published 11-05 08:00 for 18:00 (10 h: late, approved late), expected
  end 22:00, restored 21:00 (−60 min): 1 × 180 = 180.
C unplanned, pipe P4 (0001–0003), 10:00–16:00 published 09:30; at 12:00 an update leaves
  only 0003 and moves the end to 17:00; restored 17:30 (+90 min against 16:00):
  3 × 120 + 1 × 330 = 690.
D low pressure, 0009, from 11-12 10:00, still on (not an interruption: no minutes).
A draft starting in November and a notice starting in December count nowhere.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
import time_machine

from qingquan.core import clock
from qingquan.messaging.models import Message
from qingquan.messaging.services import ReceiptIn, receipts_record
from qingquan.notices import kpis, services

pytestmark = pytest.mark.django_db

NOV = "period=month&date=2026-11-01"


def sh(day: int, hour: int, minute: int = 0, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=clock.SHANGHAI)


def _notice(actor: Any, at: dt.datetime, **fields: Any) -> Any:
    with time_machine.travel(at, tick=False):
        return services.notice_create(actor=actor, reason="检修", **fields)


def _publish(actor: Any, notice: Any, at: dt.datetime, late: str = "") -> Any:
    with time_machine.travel(at, tick=False):
        services.notice_submit(actor=actor, notice=notice, late_reason=late)
        return services.notice_approve(actor=actor, notice=notice, accept_late=bool(late))


def _deliver(version: Any, numbers: list[str], delivered: bool = True) -> None:
    ids = Message.objects.of("notice_version", version.pk).filter(to__in=numbers)
    receipts_record(
        ReceiptIn(message_id=str(m), delivered=delivered)
        for m in ids.values_list("message_id", flat=True)
    )


@pytest.fixture
def november(town: Any, supervisor: Any) -> dict[str, Any]:
    s = supervisor
    a = _notice(
        s,
        sh(2, 9),
        kind="planned",
        title="A 管网改造",
        area_source="accounts",
        area={"accounts": ["3302990002", "3302990003"]},
        starts_at=sh(3, 12),
        expected_end_at=sh(3, 18),
    )
    a1 = _publish(s, a, sh(2, 9))
    _deliver(a1, ["+8613900000002", "+8613900000003"])
    with time_machine.travel(sh(3, 19), tick=False):
        services.notice_restore(actor=s, notice=a)
    b = _notice(
        s,
        sh(5, 8),
        kind="planned",
        title="B 阀门更换",
        area_source="accounts",
        area={"accounts": ["3302990001"]},
        starts_at=sh(5, 18),
        expected_end_at=sh(5, 22),
    )
    _publish(s, b, sh(5, 8), late="抢修窗口临时确定")
    with time_machine.travel(sh(5, 21), tick=False):
        services.notice_restore(actor=s, notice=b)
    c = _notice(
        s,
        sh(10, 9, 30),
        kind="unplanned",
        title="C 爆管",
        area_source="plan",
        pipe="P4",
        starts_at=sh(10, 10),
        expected_end_at=sh(10, 16),
    )
    c1 = _publish(s, c, sh(10, 9, 30))
    _deliver(c1, ["+8613900000001", "+8613900000002"])
    _deliver(c1, ["+8613900000003"], delivered=False)
    with time_machine.travel(sh(10, 12), tick=False):
        c.refresh_from_db()
        services.notice_update(
            actor=s,
            notice=c,
            note="部分恢复",
            area_source="accounts",
            area={"accounts": ["3302990003"]},
            expected_end_at=sh(10, 17),
        )
    with time_machine.travel(sh(10, 17, 30), tick=False):
        c.refresh_from_db()
        services.notice_restore(actor=s, notice=c)
    d = _notice(
        s,
        sh(12, 9),
        kind="low_pressure",
        title="D 降压",
        area_source="accounts",
        area={"accounts": ["3302990009"]},
        starts_at=sh(12, 10),
        expected_end_at=sh(12, 20),
    )
    _publish(s, d, sh(12, 9))
    _notice(
        s,
        sh(12, 9),
        kind="planned",
        title="草稿",
        area_source="accounts",
        area={"accounts": ["3302990009"]},
        starts_at=sh(20, 10),
        expected_end_at=sh(20, 12),
    )
    e = _notice(
        s,
        sh(20, 9),
        kind="planned",
        title="十二月",
        area_source="accounts",
        area={"accounts": ["3302990009"]},
        starts_at=sh(2, 10, month=12),
        expected_end_at=sh(2, 12, month=12),
    )
    _publish(s, e, sh(20, 9))
    return {"a": a, "b": b, "c": c, "d": d}


def test_the_four_kpis_of_a_fixed_month(november, supervisor):
    with time_machine.travel(sh(25, 12), tick=False):
        k = kpis.notice_kpis(user=supervisor, start=sh(1, 0), end=sh(1, 0, month=12))
    assert k.notices == 4
    assert (k.planned, k.lead_met, k.lead_missed) == (2, 1, 1)
    assert (k.lead_hours_median, k.lead_hours_min) == (18.5, 10.0)
    assert k.lead_share == 0.5
    # Versions: A 2+2, B 1+1, C 3+1+1, D 1 = 12 frozen recipients and 12 SMS; delivered:
    # A's two and two of C's first three (the third undelivered).
    assert (k.recipients, k.messages, k.delivered, k.reached) == (12, 12, 4, 4)
    assert k.reach_share == pytest.approx(4 / 12)
    assert k.customer_minutes == 840 + 180 + 690
    assert (k.restored, k.restored_on_time, k.restored_late) == (3, 1, 2)
    assert k.overrun_minutes_mean == 30.0  # (+60 − 60 + 90) / 3
    assert k.restoration_share == pytest.approx(1 / 3)


def test_a_notice_still_on_counts_its_minutes_up_to_now(town, supervisor):
    s = supervisor
    n = _notice(
        s,
        sh(2, 9),
        kind="unplanned",
        title="爆管",
        area_source="accounts",
        area={"accounts": ["3302990002", "3302990003"]},
        starts_at=sh(2, 10),
        expected_end_at=sh(2, 14),
    )
    _publish(s, n, sh(2, 9, 30))
    with time_machine.travel(sh(2, 11, 30), tick=False):
        k = kpis.notice_kpis(user=s, start=sh(1, 0), end=sh(1, 0, month=12))
    assert k.customer_minutes == 2 * 90 and k.restored == 0 and k.planned == 0
    assert k.lead_share is None and k.restoration_share is None


def test_drill_down_lists_the_notices_behind_each_figure(november, supervisor, client):
    client.force_login(supervisor)
    with time_machine.travel(sh(25, 12), tick=False):
        page = client.get(f"/reports/?{NOV}").content.decode()
        assert 'data-testid="notice-kpis"' in page
        assert 'data-testid="notice-lead">50.00%' in page
        assert 'data-testid="notice-minutes">1710<' in page
        assert 'data-testid="notice-restoration">33.33%' in page

        def listed(which: str) -> list[str]:
            body = client.get(f"/notices/?{NOV}&kpi={which}").content.decode()
            return sorted(t for t in ("A 管网改造", "B 阀门更换", "C 爆管", "D 降压") if t in body)

        assert listed("lead_missed") == ["B 阀门更换"]
        assert listed("planned") == ["A 管网改造", "B 阀门更换"]
        assert listed("restored_late") == ["A 管网改造", "C 爆管"]
        assert listed("") == ["A 管网改造", "B 阀门更换", "C 爆管", "D 降压"]
        assert "/notices/?period=month&amp;date=2026-11-01&amp;kpi=lead_missed" in page
        assert client.get(f"/notices/?{NOV}&kpi=nope").status_code == 400
        assert client.get("/notices/?period=month&date=2026-13-01").status_code == 400


def test_excel_and_pdf_carry_the_notice_kpis(november, supervisor, client):
    from openpyxl import load_workbook

    client.force_login(supervisor)
    client.cookies["django_language"] = "en"
    with time_machine.travel(sh(25, 12), tick=False):
        book = load_workbook(io.BytesIO(client.get(f"/reports/export.xlsx?{NOV}").content))
        pdf = client.get(f"/reports/export.pdf?{NOV}")
    sheet = book["Interruption notices"]
    rows = {r[0].value: (r[1].value, r[2].value) for r in sheet.iter_rows(min_row=2)}
    assert rows["Planned notices published at least 24 hours ahead"] == (0.5, 1)
    assert rows["Customer-minutes interrupted"] == (None, 1710)
    assert rows["Supply restored by the expected end"][0] == pytest.approx(1 / 3)
    assert rows["Affected customers reached (SMS delivered)"] == (pytest.approx(1 / 3), 4)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_the_public_commitments_page_shows_the_24_hour_rule(november, client):
    with time_machine.travel(sh(25, 12), tick=False):
        page = client.get("/commitments/").content.decode()
        client.cookies["django_language"] = "en"
        english = client.get("/commitments/").content.decode()
    assert 'data-testid="notice-rule"' in page and "24" in page
    assert "1 of 2 planned interruptions announced in time (50.0%)" in english
    assert "at least 24 hours before" in english
    for private in ("13900000002", "王小明", "3302990002"):
        assert private not in page
