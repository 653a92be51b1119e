"""#17 items 7 and 8: repair statistics on fixed data — arrival and restoration on-time
rates overall and by crew, district, month and crew × shift, customer-minutes without
water, the jobs behind each figure; referrals by partner, kind and month; the statistics
page with its drill-down and the Excel/PDF exports."""

from __future__ import annotations

import io

import pytest
from django.test import Client

from qingquan.dispatch import kpis
from qingquan.tickets.tests.conftest import sh

pytestmark = pytest.mark.django_db

START, END = sh(2026, 12, 1), sh(2027, 1, 1)


def test_rates_and_customer_minutes_overall_and_by_crew(people, crews, month) -> None:
    user = people["supervisor"]
    (overall,) = kpis.repair_table(user=user, start=START, end=END)
    assert (overall.jobs, overall.arrive_on_time, overall.arrive_late) == (2, 1, 1)
    assert (overall.restore_on_time, overall.restore_late) == (1, 1)
    assert overall.arrive_rate == 0.5 and overall.restore_rate == 0.5
    assert overall.customer_minutes == 40 * 5 * 60  # B cut nobody off
    by_crew = {r.label: r for r in kpis.repair_table(user=user, start=START, end=END, by="crew")}
    assert by_crew[str(crews["haishu"])].arrive_rate == 1.0
    assert by_crew[str(crews["jiangbei"])].arrive_rate == 0.0
    months = kpis.repair_table(user=user, start=START, end=END, by="month")
    assert [(r.key, r.jobs) for r in months] == [("2026-12", 2)]
    shifts = {
        r.label: r.jobs for r in kpis.repair_table(user=user, start=START, end=END, by="shift")
    }
    assert shifts == {f"{crews['haishu']} · 夜班": 1, f"{crews['jiangbei']} · off the roster": 1}
    (district,) = kpis.repair_table(user=user, start=START, end=END, by="district")
    assert district.jobs == 2
    late = kpis.repair_jobs_behind(
        user=user,
        start=START,
        end=END,
        metric="arrive_late",
        by="crew",
        key=str(crews["jiangbei"].pk),
    )
    assert [j.pk for j in late] == [month["b"].pk]
    with pytest.raises(PermissionError):
        kpis.repair_table(user=people["agent"], start=START, end=END)
    with pytest.raises(kpis.KpiError):
        kpis.repair_table(user=user, start=START, end=END, by="colour")


def test_referrals_by_partner_kind_and_month(people, month) -> None:
    user = people["supervisor"]
    by_partner = kpis.referral_table(user=user, start=START, end=END, by="partner")
    assert [(r.label, r.count) for r in by_partner] == [("好管家水电", 1), ("甬城测漏", 2)]
    assert [r.count for r in kpis.referral_table(user=user, start=START, end=END, by="month")] == [
        3
    ]
    assert (
        sum(r.count for r in kpis.referral_table(user=user, start=START, end=END, by="kind")) == 3
    )
    behind = kpis.referrals_behind(
        user=user, start=START, end=END, by="partner", key=str(month["fixers"].pk)
    )
    assert len(behind) == 2


def test_statistics_page_drill_down_and_exports(people, crews, month) -> None:
    from openpyxl import load_workbook

    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.cookies["django_language"] = "en"  # pages ignore Accept-Language
    client.force_login(people["supervisor"])
    query = {"period": "month", "date": "2026-12-01"}
    page = client.get("/reports/", {**query, "rby": "crew"}).content.decode()
    assert 'data-testid="repairs"' in page and "Arrival on-time rate" in page
    assert "50.00%" in page and str(crews["jiangbei"]) in page
    assert 'data-testid="referrals-total">3<' in page
    drill = client.get(
        "/reports/drill/",
        {**query, "metric": "repair_arrive_late", "by": "crew", "key": crews["jiangbei"].pk},
    )
    assert drill.status_code == 200 and month["b"].number in drill.content.decode()
    assert month["a"].number not in drill.content.decode()
    # The heading names the crew, not its id.
    assert f"Crew: {crews['jiangbei']}" in drill.content.decode()
    shift_key = f"{crews['haishu'].pk}:"
    shift_rows = kpis.repair_table(user=people["supervisor"], start=START, end=END, by="shift")
    key = next(r.key for r in shift_rows if r.key.startswith(shift_key))
    shift = client.get(
        "/reports/drill/", {**query, "metric": "repair_jobs", "by": "shift", "key": key}
    )
    assert f"{crews['haishu']} · 夜班" in shift.content.decode()
    params = {**query, "metric": "referrals", "by": "partner", "key": month["fixers"].pk}
    referrals = client.get("/reports/drill/", params).content.decode()
    assert referrals.count("甬城测漏") >= 2
    bad = client.get("/reports/drill/", {**query, "metric": "repair_jobs", "by": "colour"})
    assert bad.status_code == 400
    book = load_workbook(io.BytesIO(client.get("/reports/export.xlsx", query).content))
    assert {"Repairs", "Referrals"} <= set(book.sheetnames)
    cells = [c for row in book["Repairs"].iter_rows(values_only=True) for c in row]
    assert 0.5 in cells and 40 * 5 * 60 in cells
    pdf = client.get("/reports/export.pdf", query)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    # Customer managers (their own cases only) get no repair section.
    from qingquan.staff.roles import Role

    manager = Client(HTTP_ACCEPT_LANGUAGE="en")
    manager.force_login(people["admin"].__class__.objects.create_user(
        username="cm1", password="x", role=Role.CUSTOMER_MANAGER))  # fmt: skip
    assert 'data-testid="repairs"' not in manager.get("/reports/", query).content.decode()
