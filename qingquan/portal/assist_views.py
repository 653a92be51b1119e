"""Pages of the assisted services (elder-friendly mode): the resident's booking (one tap
for a call back, a short page for a visit or a pick-up) and the agents' list to confirm."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from qingquan.portal import assist, auth, selectors
from qingquan.portal.models import Appointment, AppointmentStatus, AssistKind, Slot
from qingquan.portal.services import PortalError
from qingquan.staff.access import require


def _day(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def _offered() -> list[dict[str, Any]]:
    return [
        {"value": f"{day.isoformat()}|{slot}", "day": day, "slot": Slot(slot).label}
        for day, slot in assist.slots()
    ]


@auth.resident_required
def book(request: HttpRequest) -> HttpResponse:
    """Choose the service and the half-day, then one button (a call back with the first
    time offered is booked straight from the button on every page)."""
    resident = request.resident  # type: ignore[attr-defined]
    bindings = list(selectors.bindings_of(resident))
    if request.method == "POST":
        kind = request.POST.get("kind", "")
        day_text, _sep, slot = request.POST.get("when", "").partition("|")
        day = _day(day_text)
        if request.POST.get("when") == "first":
            day, slot = assist.slots()[0]
        account = None
        if request.POST.get("account", "").isdigit():
            account = selectors.account_of(resident, int(request.POST["account"]))
        elif bindings:
            account = bindings[0].account
        try:
            if day is None:
                raise PortalError(_("Choose one of the times offered."))
            appointment = assist.assist_book(
                resident=resident,
                kind=kind,
                day=day,
                slot=slot,
                account=account,
                address=request.POST.get("address", "")[:255],
            )
        except PortalError as exc:
            for text in exc.messages:
                messages.error(request, text)
        else:
            messages.success(
                request,
                _("Booked: %(what)s. We will confirm it by phone or SMS. Case %(n)s.")
                % {"what": appointment.get_kind_display(), "n": appointment.ticket.number},
            )
            return redirect("portal:case", number=appointment.ticket.number)
    return render(
        request,
        "portal/assist.html",
        {
            "kinds": AssistKind.choices,
            "offered": _offered(),
            "bindings": bindings,
            "chosen": request.POST.get("kind") or AssistKind.VISIT,
        },
    )


@require("console.use")
def to_confirm(request: HttpRequest) -> HttpResponse:
    """Agents: the assisted services waiting for confirmation, soonest first."""
    rows = (
        Appointment.objects.filter(status=AppointmentStatus.REQUESTED)
        .select_related("ticket")
        .order_by("date", "slot", "pk")[:200]
    )
    done = (
        Appointment.objects.filter(status=AppointmentStatus.CONFIRMED)
        .select_related("ticket", "confirmed_by")
        .order_by("-confirmed_at")[:20]
    )
    return render(
        request,
        "portal/assist_staff.html",
        {"rows": rows, "done": done, "slots": Slot.choices},
    )


@require("console.use")
@require_POST
def confirm(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = Appointment.objects.filter(pk=pk).first()
    if appointment is None:
        raise Http404
    version = request.POST.get("version", "")
    try:
        assist.assist_confirm(
            actor=request.user,
            appointment=appointment,
            version=int(version) if version.isdigit() else -1,
            day=_day(request.POST.get("date", "")),
            slot=request.POST.get("slot", ""),
        )
    except PortalError as exc:
        for text in exc.messages:
            messages.error(request, text)
    else:
        messages.success(
            request,
            _("Confirmed; the customer gets an SMS. Case %(n)s.")
            % {"n": appointment.ticket.number},
        )
    return redirect("portal_staff:assist")
