"""The daily and monthly KPI reports, e-mailed to the subscribed addresses."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from qingquan.core import clock
from qingquan.core.audit import audit_record
from qingquan.reports import exports
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
        html = render_to_string("reports/report_pdf.html", data)
        workbook = exports.excel(user=_System(), period=span, by="kind")
        for sub in subscribers:
            message = EmailMultiAlternatives(
                subject=subject,
                body=text,
                from_email=settings.DEFAULT_FROM_EMAIL,
                to=[sub.email],
            )
            message.attach_alternative(html, "text/html")
            message.attach(
                f"kpis-{span.start.isoformat()}.xlsx",
                workbook,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            )
            message.send()
            with transaction.atomic():
                sub.last_sent_for = span.last
                sub.save(update_fields=["last_sent_for"])
                audit_record(
                    actor=None, action="report.send", obj=sub, after={"period": span.label}
                )
            sent += 1
    return sent


@transaction.atomic
def subscription_add(*, actor: Any, email: str, frequency: str) -> ReportSubscription:
    """Subscribe an address to a report (administrators)."""
    sub, _created = ReportSubscription.objects.get_or_create(email=email, frequency=frequency)
    if not sub.is_active:
        sub.is_active = True
        sub.save(update_fields=["is_active"])
    audit_record(actor=actor, action="report.subscribe", obj=sub, after={"email": email})
    return sub
