"""Case pages: my cases, a new case, one case with its timeline, clock and steps.

The full agent console comes later; these pages are plain forms calling the services.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from qingquan.customers import privacy
from qingquan.staff.access import can, require
from qingquan.staff.models import User
from qingquan.tickets import selectors, services
from qingquan.tickets.errors import InvalidInput, NotAllowed, TicketError
from qingquan.tickets.models import (
    CallbackOutcome,
    Channel,
    PauseReason,
    Ticket,
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
        context["overdue"] = selectors.overdue_cases(user)[:50]
    return render(request, "tickets/mine.html", context)


CASE_FIELDS = (
    "kind",
    "channel",
    "subject",
    "description",
    "caller_name",
    "caller_phone",
    "address",
    "customer",
    "account",
    "premise",
    "account_number",
    "pin_lon",  # the map pin of a repair (network.templatetags: case_pin_map)
    "pin_lat",
)


def _chosen(request: HttpRequest, values: dict[str, str]) -> dict[str, Any]:
    """The customer, account and premise the caller was identified as: ids in the form
    (or the address, e.g. from a customer's page) or an account number typed in the
    form's look-up, read through the customer selectors. An unknown one is a message;
    a role that may not see the registry gets none."""
    from qingquan.core.access import AccessDenied
    from qingquan.customers import selectors as customers

    chosen: dict[str, Any] = {"customer": None, "account": None, "premise": None}
    try:
        typed = values.get("account_number", "").strip()[:40]
        if typed and not values.get("account"):
            cards = customers.customer_lookup(user=request.user, query=typed, limit=5)
            found = [a.id for c in cards for a in c.accounts if a.number == typed]
            if found:
                values["account"] = str(found[0])
            else:
                messages.error(request, _("No account %(number)s.") % {"number": typed[:20]})
        for kind in ("account", "premise", "customer"):
            raw = values.get(kind, "")
            if not raw:
                continue
            record = None
            if raw.isdigit() and len(raw) < 19:
                record = customers.registry_record(user=request.user, kind=kind, pk=int(raw))
            if record is None:
                messages.error(request, _("The chosen customer, account or premise is unknown."))
                values[kind] = ""
            chosen[kind] = record
    except AccessDenied:
        return {"customer": None, "account": None, "premise": None}
    account = chosen["account"]
    if account is not None:
        chosen["premise"] = chosen["premise"] or account.premise
        chosen["customer"] = chosen["customer"] or account.customer
        values["account"] = str(account.pk)
    for kind in ("customer", "premise"):
        if chosen[kind] is not None:
            values[kind] = str(chosen[kind].pk)
    if chosen["premise"] is not None and not values.get("address"):
        values["address"] = chosen["premise"].address[:200]
    return chosen


@require("tickets.create")
def create(request: HttpRequest) -> HttpResponse:
    """Record a contact and open a case; the agent becomes its first-contact owner. A
    caller identified as a customer, account or premise sees an active interruption
    notice of that address first (the template asks the notices app)."""
    source = request.POST if request.method == "POST" else request.GET
    values: dict[str, str] = {"channel": Channel.PHONE}
    values.update({k: source.get(k, "") for k in CASE_FIELDS if source.get(k)})
    chosen = _chosen(request, values)
    if request.method == "POST":
        try:
            kind = selectors.kind_by_code(values.get("kind", ""))
            if kind is None:
                raise InvalidInput(_("Choose the kind of case."))
            with transaction.atomic():
                ticket = services.ticket_create(
                    actor=request.user,
                    kind=kind,
                    channel=values.get("channel", ""),
                    subject=values.get("subject", ""),
                    description=values.get("description", ""),
                    caller_name=values.get("caller_name", ""),
                    caller_phone=values.get("caller_phone", ""),
                    address=values.get("address", ""),
                    customer=chosen["customer"],
                    account=chosen["account"],
                    premise=chosen["premise"],
                )
                _place_pin(request.user, ticket, values)
        except TicketError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Case %(number)s opened.") % {"number": ticket.number})
            return redirect("tickets:detail", number=ticket.number)
    return render(
        request,
        "tickets/new.html",
        {
            "kinds": selectors.active_kinds(),
            "channels": Channel.choices,
            "values": values,
            "chosen": chosen,
        },
    )


def _place_pin(actor: Any, ticket: Ticket, values: dict[str, str]) -> None:
    """A repair's map pin from the form (the hidden fields of the network's
    `case_pin_map` tag) placed on the network in the case's transaction
    (`network.services.case_locate`, as the console's intake does); a pin that is not a
    point refuses the case (rolled back)."""
    if not values.get("pin_lon") and not values.get("pin_lat"):
        return
    from qingquan.network.services import NetworkError, case_locate, pin_parse

    try:
        pin = pin_parse(lon=values.get("pin_lon", ""), lat=values.get("pin_lat", ""))
        if pin is not None:
            case_locate(actor=actor, ticket=ticket, lon=pin[0], lat=pin[1])
    except NetworkError as refused:
        raise InvalidInput(refused.message) from None


def _visible(request: HttpRequest, number: str) -> Ticket:
    try:
        return selectors.ticket_to_open(user=request.user, number=number)
    except NotAllowed:
        raise Http404(number) from None


# The case page's button for each step of the rule table (tickets.rules.RULES).
ACTION_LABELS: dict[str, Any] = {
    "dispatch": gettext_lazy("Dispatch"),
    "accept": gettext_lazy("Accept"),
    "arrive": gettext_lazy("Crew on site"),
    "resolve": gettext_lazy("Resolve"),
    "callback": gettext_lazy("Record the callback"),
    "close": gettext_lazy("Close"),
    "transfer": gettext_lazy("Transfer"),
    "return": gettext_lazy("Return to the hotline"),
    "reopen": gettext_lazy("Reopen"),
    "pause": gettext_lazy("Pause the clock"),
    "resume": gettext_lazy("Resume the clock"),
    "extension_request": gettext_lazy("Ask for more time"),
    "extension_decide": gettext_lazy("Decide on more time"),
    "escalate": gettext_lazy("Escalate"),
    "remind": gettext_lazy("Remind"),
    "merge": gettext_lazy("Merge"),
    "change_owner": gettext_lazy("Change owner"),
}


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
    history = selectors.case_history(ticket, extensions=False)
    context: dict[str, Any] = {
        "ticket": ticket,
        "clock": selectors.case_clock(ticket),
        "events": history.events,
        "pauses": history.pauses,
        "children": history.children,
        "actions": actions,
        "action_bar": [(action, ACTION_LABELS[action]) for action in actions],
        "caller_phone": privacy.shown(ticket.caller_phone, user=request.user, of=ticket),
        "caller_name": privacy.shown(ticket.caller_name, user=request.user, kind=privacy.Kind.NAME),
        "caller_email": privacy.shown(
            _submitter_email(ticket), user=request.user, kind=privacy.Kind.EMAIL, of=ticket
        ),
        "pause_reasons": PauseReason.choices,
        "outcomes": CallbackOutcome.choices,
    }
    if {"dispatch", "transfer"} & set(actions):
        context["departments"] = selectors.departments()
        context["teams"] = selectors.teams()
        context["default_department"] = ticket.kind.responsible_department()
    if "extension_decide" in actions:
        context["pending_extensions"] = selectors.pending_extensions(ticket)
    if "change_owner" in actions:
        context["owners"] = selectors.case_owners()
    return render(request, "tickets/detail.html", context)


def _hand_off(request: HttpRequest) -> dict[str, Any]:
    return {
        "department": selectors.department_by(pk=request.POST.get("department")),
        "team": selectors.team_by(pk=request.POST.get("team")),
        "note": request.POST.get("note", ""),
    }


def _extension_decision(request: HttpRequest, ticket: Ticket) -> dict[str, Any]:
    extension = selectors.extension_of(ticket, request.POST.get("extension"))
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
    owner = selectors.staff_member(pk=request.POST.get("owner"))
    if owner is None:
        raise InvalidInput(_("Choose the new owner."))
    return owner


def _parent(request: HttpRequest) -> Ticket:
    number = request.POST.get("parent", "").strip()
    parent = selectors.visible_case(user=request.user, number=number)
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
    action = request.POST.get("action", "")
    try:
        service(actor=request.user, ticket=ticket, version=version, **arguments(request, ticket))
    except TicketError as error:
        messages.error(request, error.message)
    else:
        done = selectors.ticket_after_step(ticket)
        messages.success(request, confirmation(action, done, request))
    return redirect("tickets:detail", number=number)


def _with(ticket: Ticket) -> str:
    return str(ticket.team or ticket.department or _("the hotline"))


def confirmation(action: str, ticket: Ticket, request: HttpRequest) -> str:
    """What the step did, in words ("已派单至海曙抢修班"), for the message after the step."""
    number = ticket.number
    if action == "dispatch":
        return _("Dispatched to %(target)s.") % {"target": _with(ticket)}
    if action == "transfer":
        return _("Transferred to %(target)s.") % {"target": _with(ticket)}
    if action == "accept":
        return _("Case %(number)s accepted: you handle it now.") % {"number": number}
    if action == "arrive":
        arrived = timezone.localtime(ticket.arrived_at) if ticket.arrived_at else None
        return _("Crew on site recorded at %(time)s.") % {
            "time": arrived.strftime("%H:%M") if arrived else "—"
        }
    if action == "resolve":
        return _("Case %(number)s resolved; the owner calls the customer back.") % {
            "number": number
        }
    if action == "return":
        return _("Case %(number)s returned to the hotline.") % {"number": number}
    if action == "callback":
        return _("Callback recorded: %(outcome)s.") % {
            "outcome": ticket.get_callback_outcome_display() or "—"
        }
    if action == "close":
        return _("Case %(number)s closed.") % {"number": number}
    if action == "reopen":
        return _("Case %(number)s reopened; it is back with you at the hotline.") % {
            "number": number
        }
    if action == "pause":
        return _("Clock of case %(number)s paused.") % {"number": number}
    if action == "resume":
        deadline = ticket.resolution_deadline
        return _("Clock resumed; new deadline %(deadline)s.") % {
            "deadline": timezone.localtime(deadline).strftime("%Y-%m-%d %H:%M") if deadline else "—"
        }
    if action == "extension_request":
        return _("More time asked for; a supervisor decides.")
    if action == "extension_decide":
        if request.POST.get("decision") == "approve":
            return _("Extension approved; new deadline %(deadline)s.") % {
                "deadline": timezone.localtime(ticket.resolution_deadline).strftime(
                    "%Y-%m-%d %H:%M"
                )
                if ticket.resolution_deadline
                else "—"
            }
        return _("Extension refused.")
    if action == "escalate":
        return _("Case %(number)s escalated (level %(level)s).") % {
            "number": number,
            "level": ticket.escalation_level,
        }
    if action == "remind":
        return _("Reminder sent to %(target)s.") % {"target": _with(ticket)}
    if action == "change_owner":
        return _("%(owner)s now owns case %(number)s.") % {
            "owner": ticket.owner.get_full_name(),
            "number": number,
        }
    if action == "merge":
        return _("Merged into case %(parent)s.") % {
            "parent": ticket.parent.number if ticket.parent else "—"
        }
    return _("Done.")
