"""Counter pages (staff): take a walk-in customer's case with a signature, see a case's
signature, and the counter cases by location."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from qingquan.core import clock
from qingquan.portal import counter
from qingquan.portal.models import CounterCase, ServiceLocation
from qingquan.portal.services import PortalError
from qingquan.staff.access import require
from qingquan.tickets.errors import TicketError


def _kinds() -> list[Any]:
    from qingquan.tickets.models import CaseKind

    return list(
        CaseKind.objects.filter(is_active=True, parent__isnull=False)
        .select_related("parent")
        .order_by("position", "code")
    )


@require("tickets.create")
def take(request: HttpRequest) -> HttpResponse:
    """The counter form (a tablet beside it takes the signature)."""
    from qingquan.tickets.models import CaseKind

    locations = list(ServiceLocation.objects.filter(is_active=True))
    values = request.POST if request.method == "POST" else {}
    if request.method == "POST":
        location = ServiceLocation.objects.filter(
            pk=int(request.POST["location"]) if request.POST.get("location", "").isdigit() else 0
        ).first()
        kind = CaseKind.objects.filter(code=request.POST.get("kind", ""), is_active=True).first()
        try:
            if location is None:
                raise PortalError(_("Choose a location."))
            if kind is None or not request.POST.get("subject", "").strip():
                raise PortalError(_("Choose the kind and write what the customer asks."))
            ticket = counter.counter_case_open(
                actor=request.user,
                location=location,
                walkin=counter.Walkin(
                    kind=kind,
                    subject=request.POST.get("subject", "")[:200],
                    description=request.POST.get("description", "")[:4000],
                    caller_name=request.POST.get("caller_name", "")[:100],
                    caller_phone=request.POST.get("caller_phone", "")[:30],
                    address=request.POST.get("address", "")[:255],
                ),
                signature=request.POST.get("signature", "")[: counter.SIGNATURE_MAX_BYTES * 2],
                signature_required=request.POST.get("needs_signature") == "1",
            )
        except PortalError as exc:
            for text in exc.messages:
                messages.error(request, text)
        except TicketError as exc:  # the tickets services' input errors
            messages.error(request, str(exc))
        else:
            messages.success(request, _("Case %(n)s opened at the counter.") % {"n": ticket.number})
            return redirect("tickets:detail", ticket.number)
    return render(
        request,
        "portal/counter.html",
        {"locations": locations, "kinds": _kinds(), "values": values},
    )


@require("tickets.view")
def signature(request: HttpRequest, pk: int) -> HttpResponse:
    """A counter case's signature (staff who may see cases)."""
    row = CounterCase.objects.filter(pk=pk).exclude(signature="").first()
    if row is None:
        raise Http404
    with row.signature.open("rb") as handle:  # at most SIGNATURE_MAX_BYTES
        return HttpResponse(handle.read(), content_type="image/png")


@require("reports.view")
def by_location(request: HttpRequest) -> HttpResponse:
    today = clock.now().astimezone(clock.SHANGHAI).date()
    try:
        start = dt.date.fromisoformat(request.GET.get("start", ""))
    except ValueError:
        start = today.replace(day=1)
    try:
        end = dt.date.fromisoformat(request.GET.get("end", ""))
    except ValueError:
        end = today
    rows = counter.counts_by_location(user=request.user, start=start, end=end)
    return render(
        request,
        "portal/counter_report.html",
        {"rows": rows, "start": start, "end": end, "total": sum(r["cases"] for r in rows)},
    )
