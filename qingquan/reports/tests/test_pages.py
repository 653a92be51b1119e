"""Statistics pages, exports (Excel, PDF), e-mailed reports on a real SMTP server, and
the public commitments page."""

from __future__ import annotations

import datetime as dt
import io
import re
import socket
from email import message_from_bytes
from typing import Any

import pytest

from qingquan.reports import mail
from qingquan.reports.models import ReportSubscription, ServiceCommitment

from . import scenario

pytestmark = pytest.mark.django_db

MARCH_Q = "period=month&date=2026-03-01"


@pytest.fixture
def crafted(at: Any, new_case: Any, people: Any) -> dict[str, Any]:
    return scenario.build(at, new_case, people)


def test_dashboard_shows_figures_with_drill_links(client: Any, crafted: Any, people: Any) -> None:
    client.force_login(people["supervisor"])
    html = client.get(f"/reports/?{MARCH_Q}&by=channel").content.decode()
    assert "60.00%" in html  # closure 3/5
    assert "33.33%" in html  # on time 1/3
    assert "66.67%" in html  # satisfaction 2/3
    assert 'data-metric="cb_unreachable"' in html
    assert "kpi-chart-data" in html
    drill = client.get(f"/reports/drill/?{MARCH_Q}&metric=created&by=channel&key=phone")
    assert drill.status_code == 200
    assert '<strong data-testid="drill-count">4</strong>' in drill.content.decode()
    assert crafted["c"].number in drill.content.decode()


@pytest.mark.parametrize(
    "query",
    [
        "period=fortnight",
        "period=month&date=2026-13-01",
        "period=custom&date=2026-03-05&end=2026-03-01",
        "by=colour",
    ],
)
def test_bad_parameters_are_400(client: Any, people: Any, query: str) -> None:
    client.force_login(people["supervisor"])
    assert client.get(f"/reports/?{query}").status_code == 400
    assert client.get(f"/reports/export.xlsx?{query}").status_code == 400


def test_bad_drill_parameters_are_400(client: Any, people: Any) -> None:
    client.force_login(people["supervisor"])
    assert client.get("/reports/drill/?metric=nothing").status_code == 400
    assert client.get("/reports/drill/?metric=created&by=agent&key=abc").status_code == 400
    # Contacts split by kind through the cases they were about.
    assert client.get("/reports/drill/?metric=contacts&by=kind&key=bill").status_code == 200
    assert client.get("/reports/drill/?metric=contacts&by=department&key=x").status_code == 400
    assert client.get("/reports/drill/?metric=contacts&by=agent&key=x").status_code == 200
    assert client.get("/reports/drill/?metric=created&by=agent&key=").status_code == 400
    assert client.get("/reports/drill/?metric=created&date=2026-02-30").status_code == 400


def test_access(client: Any, people: Any) -> None:
    client.force_login(people["agent"])
    assert client.get("/reports/").status_code == 403
    client.force_login(people["admin"])
    assert client.get("/reports/").status_code == 200


def test_excel_matches_the_page(client: Any, crafted: Any, people: Any) -> None:
    from openpyxl import load_workbook

    client.force_login(people["supervisor"])
    client.cookies["django_language"] = "en"  # pages ignore Accept-Language
    response = client.get(f"/reports/export.xlsx?{MARCH_Q}&by=channel", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    sheet = book.worksheets[0]
    header = [c.value for c in sheet[3]]
    overall = dict(zip(header, [c.value for c in sheet[4]], strict=True))
    assert overall["Cases created"] == 5 and overall["Created and resolved"] == 3
    assert overall["Closure rate"] == pytest.approx(0.6)
    assert overall["Unreachable"] == 1
    assert overall["Callback satisfaction"] == pytest.approx(2 / 3)
    assert (overall["Resolved on time"], overall["Late (deadline passed unresolved)"]) == (1, 3)
    assert overall["On-time rate"] == pytest.approx(1 / 4)
    by = {row[0].value: [c.value for c in row] for row in sheet.iter_rows(min_row=5)}
    assert set(by) == {"Phone", "WeChat"}
    previous = book.worksheets[1]
    assert previous.max_row == 3


def test_volume_by_kind_counts_the_contacts_about_each_kind(
    client: Any, crafted: Any, people: Any
) -> None:
    """受理量 by kind: the contacts about cases of the kind (was 0 for every kind)."""
    from openpyxl import load_workbook

    client.force_login(people["supervisor"])
    response = client.get(f"/reports/export.xlsx?{MARCH_Q}&by=kind", HTTP_ACCEPT_LANGUAGE="en")
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    volume = {row[0].value: row[1].value for row in sheet.iter_rows(min_row=5)}
    assert volume == {"水费查询": 1, "投诉": 1, "业务咨询": 3, "报修": 0}
    page = client.get(f"/reports/?{MARCH_Q}&by=kind").content.decode()
    row = page[page.index('data-key="consultation"') :]
    assert re.search(r"<td>业务咨询</td>\s*<td><a [^>]*metric=contacts[^>]*>3</a>", row)


def test_pdf(client: Any, crafted: Any, people: Any) -> None:
    client.force_login(people["supervisor"])
    response = client.get(f"/reports/export.pdf?{MARCH_Q}&by=kind")
    assert response.status_code == 200
    assert response.content.startswith(b"%PDF")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_reports_are_emailed_through_a_real_smtp_server(crafted: Any, settings: Any) -> None:
    from aiosmtpd.controller import Controller

    received: list[Any] = []

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            received.append(envelope)
            return "250 OK"

    port = _free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        ReportSubscription.objects.create(email="chief@example.cn", frequency="monthly")
        ReportSubscription.objects.create(email="duty@example.cn", frequency="daily")
        ReportSubscription.objects.create(
            email="gone@example.cn", frequency="daily", is_active=False
        )
        assert mail.send_reports(today=dt.date(2026, 4, 1)) == 2
        assert mail.send_reports(today=dt.date(2026, 4, 1)) == 0  # once per period
    finally:
        controller.stop()
    by_rcpt = {env.rcpt_tos[0]: message_from_bytes(env.content) for env in received}
    assert set(by_rcpt) == {"chief@example.cn", "duty@example.cn"}
    monthly = by_rcpt["chief@example.cn"]
    parts = list(monthly.walk())
    text = next(p for p in parts if p.get_content_type() == "text/plain")
    payload = text.get_payload(decode=True)
    assert isinstance(payload, bytes)
    body = payload.decode()
    assert "2026-03-01" in body and "60.00%" in body and "66.67%" in body
    assert any(p.get_filename() == "kpis-2026-03-01.xlsx" for p in parts)
    assert "2026-03-31" in str(by_rcpt["duty@example.cn"]["Subject"])


def test_public_commitments_page(client: Any, crafted: Any, at: Any, kind: Any) -> None:
    from .conftest import sh

    ServiceCommitment.objects.create(
        title="咨询一个工作日内答复",
        text="业务咨询一个工作日内答复。",
        time_limit="1个工作日",
        kind=kind("consultation"),
        measure="on_time",
        target_percent=98,
    )
    ServiceCommitment.objects.create(
        title="回访满意", text="回访满意率不低于99%", measure="satisfaction", target_percent=99
    )
    ServiceCommitment.objects.create(
        title="未发布", text="x", measure="closure", is_published=False
    )
    at(sh(2026, 3, 20, 12))
    response = client.get("/commitments/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "咨询一个工作日内答复" in html and "未发布" not in html
    # Consultations in March: a on time; b and f late (deadlines passed unresolved on 4
    # and 6 March) → 33.33 %; satisfaction 2/3.
    assert "33.33%" in html and "66.67%" in html
    assert "13800000000" not in html and crafted["a"].owner.full_name not in html
