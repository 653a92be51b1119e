"""The connections report on the statistics pages (month × policy with drill-down links),
in the Excel and PDF exports, and on the public commitments page (figures only)."""

from __future__ import annotations

import io
from typing import Any
from unittest import mock

import pytest
from django.test import Client

from .conftest import sh
from .test_rollup import month_of_data

pytestmark = pytest.mark.django_db

QUERY = "period=month&date=2026-03-01"


def test_statistics_page_shows_each_month_and_policy_with_drill_down(
    at: Any, apply: Any, people: Any
) -> None:
    made = month_of_data(at, apply, people)
    client = Client()
    client.force_login(people["supervisor"])
    client.cookies["django_language"] = "en"
    page = client.get(f"/reports/?{QUERY}").content.decode()
    section = page[page.index('data-testid="connections"') :]
    assert 'data-month="2026-03" data-policy="221"' in section
    assert 'data-month="2026-03" data-policy="431"' in section
    assert 'data-month="2026-04"' not in section  # the period is March only
    assert "1.83" in section and "61.9 %" in section and "66.67" in section
    link = "/connections/report/drill/?month=2026-03&amp;policy=221&amp;metric=applications"
    assert link in section
    drilled = client.get(link.replace("&amp;", "&")).content.decode()
    assert all(a.number in drilled for a in made[:3])
    # A quarter: each month, then the span per policy.
    page = client.get("/reports/?period=quarter&date=2026-04-01").content.decode()
    assert 'data-testid="connections-total"' not in page  # one month with connections
    page = client.get("/reports/?period=year&date=2026-01-01").content.decode()
    assert page.count('data-testid="connections-row"') == 3
    assert page.count('data-testid="connections-total"') == 2
    # A reader of the statistics without connections sees no connections section.
    client.force_login(people["agent"])
    assert client.get(f"/reports/?{QUERY}").status_code == 403


def test_excel_and_pdf_carry_the_connections_report(at: Any, apply: Any, people: Any) -> None:
    from openpyxl import load_workbook

    month_of_data(at, apply, people)
    client = Client()
    client.force_login(people["supervisor"])
    client.cookies["django_language"] = "en"
    response = client.get(f"/reports/export.xlsx?{QUERY}")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content))["New connections"]
    header = [c.value for c in sheet[3]]
    rows = [dict(zip(header, [c.value for c in r], strict=True)) for r in sheet.iter_rows(4)]
    std = next(r for r in rows if r["Month"] == "2026-03" and r["Policy"].startswith('"221"'))
    assert std["Applications connected"] == 3
    assert std["Average working days"] == pytest.approx(1.83)
    assert std["90th percentile (working days)"] == pytest.approx(3.0)
    assert std["Water on in time (%)"] == pytest.approx(66.67)
    assert std["Days reduction (%)"] == pytest.approx(61.9)
    assert std["Documents reduction (%)"] == pytest.approx(75.0)
    pdf = client.get(f"/reports/export.pdf?{QUERY}")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    # What the PDF is drawn from (WeasyPrint draws the HTML; no PDF reader here).
    drawn: list[str] = []

    class Html:
        def __init__(self, *, string: str) -> None:
            drawn.append(string)

        def write_pdf(self) -> bytes:
            return b"%PDF-"

    with mock.patch("weasyprint.HTML", Html):
        client.get(f"/reports/export.pdf?{QUERY}")
    table = drawn[0][drawn[0].index('data-testid="connections"') :]
    assert "<td>2026-03</td>" in table and "<td>1.83</td>" in table and "<td>61.9</td>" in table


def test_public_commitments_page_shows_figures_and_no_one(at: Any, apply: Any, people: Any) -> None:
    made = month_of_data(at, apply, people)
    at(sh(2026, 4, 20, 12))
    html = Client().get("/commitments/").content.decode()
    section = html[html.index('data-testid="connections-kept"') :]
    assert 'data-month="2026-04" data-policy="221"' in section
    assert 'data-month="2026-03" data-policy="221"' in section  # the month before too
    assert "1.83" in section and "61.9" in section
    for app in made:
        assert app.number not in html and app.applicant_name not in html
        assert app.manager.get_full_name() not in html
