"""The breakdown chart rendered on the server: in the PDF (SVG, text kept as text) and in
the e-mailed report (inline PNG), with the same figures as the table."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from django.core import mail as outbox

from qingquan.reports import charts, exports, mail, selectors
from qingquan.reports.models import ReportSubscription
from qingquan.reports.periods import period
from qingquan.reports.templatetags.kpi import pct

from . import scenario

pytestmark = pytest.mark.django_db

MARCH = period("month", dt.date(2026, 3, 1))


@pytest.fixture
def crafted(at: Any, new_case: Any, people: Any) -> dict[str, Any]:
    return scenario.build(at, new_case, people)


def svg_texts(svg: str) -> list[str]:
    return re.findall(r"<text[^>]*>([^<]*)</text>", svg)


def test_chart_figures_are_the_tables(crafted: Any, people: Any) -> None:
    rows = selectors.kpi_table(user=people["supervisor"], period=MARCH, by="kind")
    data = charts.series(rows)
    assert data["labels"] == [r.label for r in rows]
    assert data["created"] == [r.created for r in rows]
    assert data["unreachable"] == [r.cb_unreachable for r in rows]
    for key, rate in (
        ("closure", "closure_rate"),
        ("on_time", "on_time_rate"),
        ("satisfaction", "satisfaction"),
    ):
        shown = [pct(getattr(r, rate)) for r in rows]  # the table's cells, e.g. 66.67%
        assert [None if v is None else f"{v:.2f}%" for v in data[key]] == [
            None if s == "—" else s for s in shown
        ]
    texts = svg_texts(charts.svg(rows, title="By kind"))
    for row in rows:
        assert row.label in texts
        assert str(row.created) in texts
        if row.closure_rate is not None:
            assert pct(row.closure_rate).rstrip("%") in texts
    assert "By kind" in texts and "Closure rate" in texts and "%" in texts


def test_chart_without_rows_or_with_many_rows_still_renders() -> None:
    assert "<svg" in charts.svg([])
    many = [selectors.Row(key=str(i), label=f"坐席{i}", counts={"created": i}) for i in range(30)]
    svg = charts.svg(many)
    assert "坐席29" in svg_texts(svg)
    assert charts.png(many).startswith(b"\x89PNG")


def pdf_text(content: bytes, tmp_path: Path) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(content)
    done = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, text=True
    )
    return done.stdout


def test_pdf_carries_the_chart(client: Any, crafted: Any, people: Any, tmp_path: Path) -> None:
    client.force_login(people["supervisor"])
    client.cookies["django_language"] = "en"  # pages ignore Accept-Language
    with_chart = client.get(
        "/reports/export.pdf?period=month&date=2026-03-01&by=kind", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert with_chart.status_code == 200
    text = pdf_text(with_chart.content, tmp_path)
    without = pdf_text(
        client.get(
            "/reports/export.pdf?period=month&date=2026-03-01", HTTP_ACCEPT_LANGUAGE="en"
        ).content,
        tmp_path,
    )
    assert "By Kind" in text and "By Kind" not in without  # the chart's title
    rows = selectors.kpi_table(user=people["supervisor"], period=MARCH, by="kind")
    for row in rows:
        # Each kind is named twice: in the table and on the chart's axis.
        assert text.count(row.label) >= 2, row.label
    # The legend adds each series' name once more than the tables have it.
    assert text.count("Unreachable") == without.count("Unreachable") + 1


def test_pdf_of_the_data_embeds_the_svg(crafted: Any, people: Any, monkeypatch: Any) -> None:
    seen: list[str] = []
    original = exports.svg_data_uri

    def spy(svg: str) -> str:
        seen.append(svg)
        return original(svg)

    monkeypatch.setattr(exports, "svg_data_uri", spy)
    data = exports.report_data(user=people["supervisor"], period=MARCH, by="kind")
    assert exports.pdf_of(data).startswith(b"%PDF")
    assert len(seen) == 1 and "<svg" in seen[0]


def parts_of(message: Message) -> list[Message]:
    return list(message.walk())


def test_emailed_report_has_the_chart_inline_and_the_pdf(crafted: Any) -> None:
    ReportSubscription.objects.create(email="chief@example.cn", frequency="monthly")
    assert mail.send_reports(today=dt.date(2026, 4, 1)) == 1
    message = message_from_bytes(outbox.outbox[0].message().as_bytes())
    parts = parts_of(message)
    kinds = [p.get_content_type() for p in parts]
    assert kinds[:6] == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "multipart/related",
        "text/html",
        "image/png",
    ]
    image = parts[5]
    assert image["Content-ID"] == f"<{mail.CHART_CID}>"
    payload = image.get_payload(decode=True)
    assert isinstance(payload, bytes) and payload.startswith(b"\x89PNG")
    html = parts[4].get_payload(decode=True)
    assert isinstance(html, bytes) and f'src="cid:{mail.CHART_CID}"' in html.decode()
    files = {p.get_filename(): p.get_content_type() for p in parts if p.get_filename()}
    assert files["kpis-2026-03-01.pdf"] == "application/pdf"
    assert "kpis-2026-03-01.xlsx" in files
    text = parts[2].get_payload(decode=True)
    assert isinstance(text, bytes) and "60.00%" in text.decode()
