"""The daily and monthly KPI reports, e-mailed to the subscribed addresses.

Each message: the figures as plain text and as HTML with the breakdown chart as an inline
PNG (multipart/alternative, the HTML part multipart/related with the image), and the
report attached as PDF (with the chart as SVG) and as an Excel workbook."""

from __future__ import annotations

import datetime as dt
from email.mime.image import MIMEImage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from qingquan.core import clock
from qingquan.core.actors import system
from qingquan.core.audit import audit_record
from qingquan.reports import charts, exports
from qingquan.reports.models import ReportSubscription
from qingquan.reports.periods import Period, period


class _System:
    """The report reader for e-mailed reports: sees every figure (administrators chose
    the recipients)."""

    is_authenticated = True
    is_active = True
    pk = 0
    role = "administrator"


def due_period(frequency: str, today: dt.date) -> Period:
    """Yesterday for the daily report; last month for the monthly one."""
    if frequency == ReportSubscription.Frequency.DAILY:
        return period("day", today - dt.timedelta(days=1))
    return period("month", dt.date(today.year, today.month, 1) - dt.timedelta(days=1))


CHART_CID = "kpi-chart@qingquan"


def _body(text: str, html: str, chart: bytes) -> MIMEMultipart:
    """The message body: plain text, or HTML with the chart as an inline PNG that the HTML
    shows by its Content-ID (mail clients do not show SVG or data: images)."""
    body = MIMEMultipart("alternative")
    body.attach(MIMEText(text, "plain", "utf-8"))
    if not chart:
        body.attach(MIMEText(html, "html", "utf-8"))
        return body
    related = MIMEMultipart("related")
    related.attach(MIMEText(html, "html", "utf-8"))
    image = MIMEImage(chart, "png")
    image.add_header("Content-ID", f"<{CHART_CID}>")
    image.add_header("Content-Disposition", "inline", filename="kpi-chart.png")
    related.attach(image)
    body.attach(related)
    return body


def send_reports(*, today: dt.date | None = None) -> int:
    """Send every report that is due and not yet sent; returns messages sent."""
    today = today or clock.today()
    sent = 0
    for frequency in ReportSubscription.Frequency.values:
        span = due_period(frequency, today)
        subscribers = list(
            ReportSubscription.objects.filter(is_active=True, frequency=frequency).exclude(
                last_sent_for__gte=span.last
            )
        )
        if not subscribers:
            continue
        data = exports.report_data(user=_System(), period=span, by="kind")
        subject = _("Qingquan 96390 %(frequency)s report %(period)s") % {
            "frequency": ReportSubscription.Frequency(frequency).label,
            "period": span.label,
        }
        text = render_to_string("reports/mail.txt", data)
        chart = charts.png(data["rows"], title=exports.chart_title(data)) if data["rows"] else b""
        html = render_to_string(
            "reports/report_pdf.html", {**data, "chart_src": f"cid:{CHART_CID}" if chart else ""}
        )
        workbook = exports.excel(user=_System(), period=span, by="kind")
        document = exports.pdf_of(data)
        for sub in subscribers:
            message = EmailMessage(
                subject=subject,
                body="",
                from_email=settings.DEFAULT_FROM_EMAIL,
                to=[sub.email],
            )
            message.attach(_body(text, html, chart))
            message.attach(
                f"kpis-{span.start.isoformat()}.xlsx",
                workbook,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            )
            message.attach(f"kpis-{span.start.isoformat()}.pdf", document, "application/pdf")
            message.send()
            with transaction.atomic():
                sub.last_sent_for = span.last
                sub.save(update_fields=["last_sent_for"])
                audit_record(
                    actor=system("report_mail"),
                    action="report.send",
                    obj=sub,
                    after={"period": span.label},
                )
            sent += 1
    return sent
