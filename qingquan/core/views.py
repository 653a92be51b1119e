"""Core pages: the audit log search and the health check."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.dateparse import parse_date

from qingquan.core import audit, audit_text
from qingquan.core.models import AuditEvent
from qingquan.staff.access import require


@require("audit.view")
def audit_log(request: HttpRequest) -> HttpResponse:
    """Search the audit log by text, action and date range (administrators only)."""
    events = AuditEvent.objects.select_related("actor").search(request.GET.get("q", ""))
    action = request.GET.get("action", "").strip()
    if action:
        events = events.filter(action=action)
    since = parse_date(request.GET.get("since", "") or "")
    until = parse_date(request.GET.get("until", "") or "")
    if since:
        events = events.filter(at__date__gte=since)
    if until:
        events = events.filter(at__date__lte=until)
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    for event in page:
        event.before = audit.shown_snapshot(event, event.before, request.user)
        event.after = audit.shown_snapshot(event, event.after, request.user)
        event.sentence = audit_text.describe(event)  # type: ignore[attr-defined]
        event.changes = audit_text.changes(event)  # type: ignore[attr-defined]
    codes = AuditEvent.objects.order_by("action").values_list("action", flat=True).distinct()
    actions = [(code, audit_text.action_label(code)) for code in codes]
    return render(
        request,
        "core/audit_log.html",
        {"page": page, "actions": actions, "filters": request.GET},
    )


def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness and database check for load balancers (no login, no personal data)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return JsonResponse({"status": "ok", "database": connection.vendor})


@require("home.view")
def notifications(request: HttpRequest) -> HttpResponse:
    """The staff member's notifications; POST marks them read."""
    from django.shortcuts import redirect

    from qingquan.core.models import Notification
    from qingquan.core.notifications import notification_mark_read

    if request.method == "POST":
        notification_mark_read(recipient=request.user)
        return redirect("notifications")
    items = Notification.objects.filter(recipient_id=request.user.pk)[:100]
    return render(request, "core/notifications.html", {"items": items})
