"""Case pages: my cases, a new case, one case with its timeline, clock and steps.

The full agent console comes later; these pages are plain forms calling the services.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from qingquan.customers import privacy
from qingquan.staff.access import can, require
from qingquan.staff.models import Department, Team, User
from qingquan.tickets import selectors, services
from qingquan.tickets.errors import InvalidInput, NotAllowed, TicketError
from qingquan.tickets.models import (
    CallbackOutcome,
    CaseKind,
    Channel,
    PauseReason,
    Ticket,
    TicketExtension,
)


@require("tickets.view")
def mine(request: HttpRequest) -> HttpResponse:
    """The cases I own wherever they are, and the cases waiting with my department or crew."""
    user = request.user
    context: dict[str, Any] = {
        "owned": selectors.my_cases(user).select_related("assignee")[:200],
        "queue": selectors.handled_by(user)[:200],
    }
    if can(user, "tickets.view_all"):
        context["overdue"] = (
            selectors.ticket_search(user=user, sla_state="breached")
            .open()
            .order_by("resolution_deadline")[:50]
        )
    return render(request, "tickets/mine.html", context)


@require("tickets.create")
def create(request: HttpRequest) -> HttpResponse:
    """Record a contact and open a case; the agent becomes its first-contact owner."""
    values: dict[str, str] = {"channel": Channel.PHONE}
    if request.method == "POST":
        values = {k: request.POST.get(k, "") for k in request.POST}
        try:
            kind = CaseKind.objects.filter(code=values.get("kind", "")).first()
            if kind is None:
                raise InvalidInput(_("Choose the kind of case."))
            ticket = services.ticket_create(
                actor=request.user,
                kind=kind,
                channel=values.get("channel", ""),
                subject=values.get("subject", ""),
                description=values.get("description", ""),
                caller_name=values.get("caller_name", ""),
                caller_phone=values.get("caller_phone", ""),
                address=values.get("address", ""),
            )
        except TicketError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Case %(number)s opened.") % {"number": ticket.number})
            return redirect("tickets:detail", number=ticket.number)
    return render(
        request,
        "tickets/new.html",
        {"kinds": selectors.active_kinds(), "channels": Channel.choices, "values": values},
    )


def _visible(request: HttpRequest, number: str) -> Ticket:
    try:
        return selectors.ticket_to_open(user=request.user, number=number)
    except NotAllowed:
        raise Http404(number) from None


def _submitter_email(ticket: Ticket) -> str:
    """The e-mail address an Open311 submitter gave (kept with the partner case)."""
    # A case without a partner raises RelatedObjectDoesNotExist, an AttributeError.
    partner = getattr(ticket, "partner", None)
    return getattr(partner, "submitter_email", "") or ""


@require("tickets.view")
def detail(request: HttpRequest, number: str) -> HttpResponse:
    """One case: facts, clock, timeline and the steps the user may take now."""
    ticket = _visible(request, number)
    actions = services.allowed_actions(request.user, ticket)
    context: dict[str, Any] = {
        "ticket": ticket,
        "clock": selectors.case_clock(ticket),
        "events": ticket.events.select_related("actor"),
        "pauses": ticket.pauses.all(),
        "children": ticket.children.all(),
        "actions": actions,
        "caller_phone": privacy.shown(ticket.caller_phone, user=request.user, of=ticket),
        "caller_name": privacy.shown(ticket.caller_name, user=request.user, kind=privacy.Kind.NAME),
        "caller_email": privacy.shown(
            _submitter_email(ticket), user=request.user, kind=privacy.Kind.EMAIL, of=ticket
        ),
        "pause_reasons": PauseReason.choices,
        "outcomes": CallbackOutcome.choices,
    }
    if {"dispatch", "transfer"} & set(actions):
        context["departments"] = Department.objects.all()
        context["teams"] = Team.objects.select_related("department")
        context["default_department"] = ticket.kind.responsible_department()
    if "extension_decide" in actions:
        context["pending_extensions"] = ticket.extensions.filter(
            status=TicketExtension.Status.PENDING
        )
    if "change_owner" in actions:
        context["owners"] = [
            u
            for u in User.objects.filter(is_active=True).order_by("full_name")
            if can(u, "tickets.create")
        ]
    return render(request, "tickets/detail.html", context)


def _hand_off(request: HttpRequest) -> dict[str, Any]:
    department = request.POST.get("department") or None
    team = request.POST.get("team") or None
    return {
        "department": Department.objects.filter(pk=department).first() if department else None,
        "team": Team.objects.filter(pk=team).first() if team else None,
        "note": request.POST.get("note", ""),
    }


def _extension_decision(request: HttpRequest, ticket: Ticket) -> dict[str, Any]:
    extension = ticket.extensions.filter(pk=request.POST.get("extension") or 0).first()
    if extension is None:
        raise InvalidInput(_("Choose the extension request to decide."))
    return {
        "extension": extension,
        "approve": request.POST.get("decision") == "approve",
        "note": request.POST.get("note", ""),
    }


def _hours(request: HttpRequest) -> int:
    try:
        hours = float(request.POST.get("hours", ""))
    except ValueError:
        raise InvalidInput(_("Give the extra time in hours.")) from None
    return round(hours * 3600)


def _new_owner(request: HttpRequest) -> User:
    owner = User.objects.filter(pk=request.POST.get("owner") or 0).first()
    if owner is None:
        raise InvalidInput(_("Choose the new owner."))
    return owner


def _parent(request: HttpRequest) -> Ticket:
    number = request.POST.get("parent", "").strip()
    parent = selectors.tickets_visible_to(request.user).filter(number=number).first()
    if parent is None:
        raise InvalidInput(_("No case %(number)s that you may see.") % {"number": number})
    return parent


# Step name -> (service, function building its keyword arguments from the form).
STEPS: dict[str, tuple[Callable[..., Any], Callable[[HttpRequest, Ticket], dict[str, Any]]]] = {
    "dispatch": (services.ticket_dispatch, lambda r, t: _hand_off(r)),
    "transfer": (services.ticket_transfer, lambda r, t: _hand_off(r)),
    "accept": (services.ticket_accept, lambda r, t: {"note": r.POST.get("note", "")}),
    "arrive": (services.ticket_arrive, lambda r, t: {"note": r.POST.get("note", "")}),
    "resolve": (services.ticket_resolve, lambda r, t: {"resolution": r.POST.get("resolution", "")}),
    "return": (services.ticket_return, lambda r, t: {"reason": r.POST.get("reason", "")}),
    "callback": (
        services.ticket_callback_record,
        lambda r, t: {"outcome": r.POST.get("outcome", ""), "note": r.POST.get("note", "")},
    ),
    "close": (services.ticket_close, lambda r, t: {"note": r.POST.get("note", "")}),
    "reopen": (services.ticket_reopen, lambda r, t: {"reason": r.POST.get("reason", "")}),
    "pause": (
        services.ticket_pause,
        lambda r, t: {"reason": r.POST.get("reason", ""), "note": r.POST.get("note", "")},
    ),
    "resume": (services.ticket_resume, lambda r, t: {"note": r.POST.get("note", "")}),
    "extension_request": (
        services.ticket_extension_request,
        lambda r, t: {"seconds": _hours(r), "reason": r.POST.get("reason", "")},
    ),
    "extension_decide": (services.ticket_extension_decide, _extension_decision),
    "escalate": (services.ticket_escalate, lambda r, t: {"note": r.POST.get("note", "")}),
    "remind": (services.ticket_remind, lambda r, t: {"note": r.POST.get("note", "")}),
    "change_owner": (
        services.ticket_change_owner,
        lambda r, t: {"owner": _new_owner(r), "reason": r.POST.get("reason", "")},
    ),
    "merge": (
        services.ticket_merge,
        lambda r, t: {"parent": _parent(r), "note": r.POST.get("note", "")},
    ),
}


@require_POST
@require("tickets.view")
def act(request: HttpRequest, number: str) -> HttpResponse:
    """Take one step on the case with the version the form was rendered with."""
    ticket = _visible(request, number)
    step = STEPS.get(request.POST.get("action", ""))
    if step is None:
        messages.error(request, _("Unknown step."))
        return redirect("tickets:detail", number=number)
    service, arguments = step
    try:
        version = int(request.POST.get("version", ""))
    except ValueError:
        messages.error(request, _("The form lacks the case version; reload the page."))
        return redirect("tickets:detail", number=number)
    try:
        service(actor=request.user, ticket=ticket, version=version, **arguments(request, ticket))
    except TicketError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Done."))
    return redirect("tickets:detail", number=number)
