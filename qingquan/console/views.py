"""Console pages: the agent's console (state, live call banner, screen pop), the screen pop
fragment and full page, fast intake, case lists and search, a case's notes and files, and
the supervisors' wallboard. Pushes arrive over /ws/events/; every live part also polls."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from qingquan.console import selectors, services
from qingquan.console.models import Visibility
from qingquan.customers.models import Account
from qingquan.knowledge import selectors as knowledge
from qingquan.staff.access import require
from qingquan.telephony import selectors as telephony
from qingquan.telephony.models import Call
from qingquan.tickets.models import CaseKind, Ticket


def _htmx(request: HttpRequest) -> bool:
    """True for requests made by HTMX (django-htmx sets request.htmx)."""
    return bool(getattr(request, "htmx", False))


def _call(request: HttpRequest, call_id: int | str | None) -> Call | None:
    if call_id is None or call_id == "":
        return None
    try:
        return telephony.call_for(user=request.user, call_pk=int(call_id))
    except (ObjectDoesNotExist, ValueError):
        raise Http404("call") from None


def _banner_context(request: HttpRequest) -> dict[str, Any]:
    current = telephony.current_call(user=request.user)
    return {
        "state": telephony.agent_state_of(request.user),
        "current": current,
        "ringing": [] if current is not None else telephony.ringing_for(user=request.user),
        "pop_url": reverse("console:pop", kwargs={"call_id": current.pk}) if current else "",
    }


@require("console.use")
def home(request: HttpRequest) -> HttpResponse:
    """The agent console: my state, the live call banner and the screen pop area."""
    return render(request, "console/home.html", _banner_context(request))


@require("console.use")
def call_banner(request: HttpRequest) -> HttpResponse:
    """The live call banner (polled every few seconds: works without the websocket): the
    call the agent's state is about, or the calls ringing for them."""
    return render(request, "console/_banner.html", _banner_context(request))


def _draft_error(error: services.ConsoleError) -> JsonResponse:
    return JsonResponse(
        {"error": error.message, "field": error.field},
        status=400,
        json_dumps_params={"ensure_ascii": False},
    )


@require("console.use")
def draft(request: HttpRequest, key: str) -> HttpResponse:
    """The agent's own draft of one form: GET reads it, POST (JSON object of field → text)
    keeps it, DELETE forgets it. The console's scripts call this as the agent types."""
    try:
        if request.method == "GET":
            found = services.draft_get(actor=request.user, key=key)
            if found is None:
                return JsonResponse({"key": key, "data": None, "updated_at": None})
            return JsonResponse(
                {"key": key, "data": found.data, "updated_at": found.updated_at.isoformat()},
                json_dumps_params={"ensure_ascii": False},
            )
        if request.method == "POST":
            try:
                data = json.loads(request.body or b"")
            except (ValueError, UnicodeDecodeError):
                raise services.ConsoleError(_("The draft is not valid JSON."), "data") from None
            saved = services.draft_save(actor=request.user, key=key, data=data)
            return JsonResponse({"key": key, "updated_at": saved.updated_at.isoformat()})
        if request.method == "DELETE":
            services.draft_discard(actor=request.user, key=key)
            return JsonResponse({"key": key, "data": None})
    except services.ConsoleError as error:
        return _draft_error(error)
    return JsonResponse({"error": _("Use GET, POST or DELETE.")}, status=405)


def _pop_context(request: HttpRequest, pop: selectors.Pop, **extra: Any) -> dict[str, Any]:
    return {
        "pop": pop,
        "kinds": selectors.intake_kinds(),
        "resolvable": services.RESOLVABLE_ON_CALL,
        # Every field the intake form asks for answers "" when not sent: a missing key
        # made the template engine raise and catch its way through each lookup (some
        # forty per pop, one per case kind).
        "values": defaultdict(str, extra.pop("values", {})),
        **extra,
    }


@require("console.use")
def pop(request: HttpRequest, call_id: int) -> HttpResponse:
    """The screen pop of one call (fragment for HTMX, full page otherwise)."""
    call = _call(request, call_id)
    data = selectors.screen_pop(user=request.user, call=call, query=request.GET.get("q", ""))
    template = "console/_pop.html" if _htmx(request) else "console/pop_page.html"
    return render(request, template, _pop_context(request, data))


@require("console.use")
def lookup(request: HttpRequest) -> HttpResponse:
    """A screen pop without a call (walk-in, callback, or a number typed by hand)."""
    query = request.GET.get("q", "").strip()
    data = selectors.screen_pop(user=request.user, query=query)
    template = "console/_pop.html" if _htmx(request) else "console/pop_page.html"
    return render(request, template, _pop_context(request, data))


def _intake_from(request: HttpRequest, call: Call | None) -> services.Intake:
    post = request.POST
    code = post.get("subkind") or post.get("kind") or ""
    kind = CaseKind.objects.select_related("parent").filter(code=code).first() if code else None
    top = post.get("kind", "")
    if kind is not None and top and kind.top.code != top:
        kind = CaseKind.objects.select_related("parent").filter(code=top).first()
    account = None
    account_id = post.get("account", "")
    if account_id.isdigit():
        account = (
            Account.objects.select_related("premise__district", "customer")
            .filter(pk=int(account_id))
            .first()
        )
    customer = None
    if post.get("customer", "").isdigit():
        customer = selectors.customer_for_pop(user=request.user, customer_id=int(post["customer"]))
    return services.Intake(
        kind=kind,
        subject=post.get("subject", ""),
        location=post.get("location", ""),
        description=post.get("description", ""),
        address=post.get("address", "") if post.get("account") in ("", "typed", None) else "",
        account=account,
        customer=customer,
        caller_name=post.get("caller_name", ""),
        caller_phone=post.get("caller_phone", ""),
        resolve_now=post.get("resolve_now") == "1",
        resolution=post.get("resolution", ""),
        call=call,
        pin=_pin(post),
    )


def _pin(post: Any) -> tuple[float, float] | None:
    """The map pin of a repair (longitude and latitude fields), or None when both are
    empty; one missing or not a number is refused."""
    lon, lat = post.get("pin_lon", "").strip(), post.get("pin_lat", "").strip()
    if not lon and not lat:
        return None
    try:
        point = float(lon), float(lat)
    except ValueError:
        point = (999.0, 999.0)
    if not (-180 <= point[0] <= 180 and -90 <= point[1] <= 90):
        raise services.ConsoleError(
            _("The map pin needs a longitude (-180…180) and a latitude (-90…90)."), field="pin"
        )
    return point


def _go(request: HttpRequest, url: str) -> HttpResponse:
    if _htmx(request):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


@require("console.use")
@require_POST
def intake(request: HttpRequest) -> HttpResponse:
    """Fast intake: one form, kind first; a case from a call is linked to its contact."""
    call = _call(request, request.POST.get("call"))
    try:
        intake_data = _intake_from(request, call)
        ticket = services.intake_submit(actor=request.user, intake=intake_data)
        if call is not None and call.contact_id:
            services.draft_discard(actor=request.user, key=f"intake:contact:{call.contact_id}")
    except services.ConsoleError as error:
        data = selectors.screen_pop(user=request.user, call=call, query=request.POST.get("q", ""))
        context = _pop_context(
            request,
            data,
            values=request.POST.dict(),
            intake_error=error.message,
            intake_field=error.field,
        )
        template = "console/_pop.html" if _htmx(request) else "console/pop_page.html"
        return render(request, template, context, status=200 if _htmx(request) else 400)
    if ticket.is_open:
        messages.success(request, _("Case %(number)s opened.") % {"number": ticket.number})
    else:
        messages.success(
            request, _("Case %(number)s resolved on the call.") % {"number": ticket.number}
        )
    return _go(request, reverse("tickets:detail", kwargs={"number": ticket.number}))


@require("console.use")
@require_POST
def link_case(request: HttpRequest, call_id: int) -> HttpResponse:
    """The caller chases a case: link this call's contact to it."""
    call = _call(request, call_id)
    assert call is not None
    try:
        number = request.POST.get("number", "")
        ticket = selectors.console_cases(request.user).get(number=number)
        services.call_link_case(actor=request.user, call=call, ticket=ticket)
    except Ticket.DoesNotExist:
        messages.error(request, _("No such case."))
    except services.ConsoleError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request, _("This call is recorded on case %(number)s.") % {"number": ticket.number}
        )
    return _go(request, reverse("console:pop", kwargs={"call_id": call.pk}))


@require("console.use")
@require_POST
def customer_new(request: HttpRequest) -> HttpResponse:
    """Quick customer creation for an unknown caller; back to the pop, now known."""
    call = _call(request, request.POST.get("call"))
    phone = call.from_number if call is not None else request.POST.get("phone", "")
    try:
        services.customer_quick_create(
            actor=request.user,
            name=request.POST.get("name", ""),
            phone=phone,
            elderly_or_impaired=request.POST.get("elderly") == "1",
        )
    except services.ConsoleError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Customer registered."))
    if call is not None:
        return _go(request, reverse("console:pop", kwargs={"call_id": call.pk}))
    return _go(request, f"{reverse('console:lookup')}?q={phone}")


@require("console.use")
def cases(request: HttpRequest) -> HttpResponse:
    """My cases (first-contact owner), my team's queue, and search."""
    query = request.GET.get("q", "").strip()
    context = {
        "query": query,
        "results": selectors.case_search(user=request.user, text=query)[:100]
        if query
        else selectors.recent_open(request.user)[:100],
        "mine": selectors.mine(request.user)[:200],
        "team": selectors.team_queue(request.user)[:200],
    }
    template = "console/_results.html" if _htmx(request) and query else "console/cases.html"
    return render(request, template, context)


def _case(request: HttpRequest, number: str) -> selectors.CaseView:
    try:
        return selectors.case_view(user=request.user, number=number)
    except Ticket.DoesNotExist:
        raise Http404(number) from None


@require("console.use")
def case(request: HttpRequest, number: str) -> HttpResponse:
    """A case in the console: facts, clock, timeline, contacts, notes and files."""
    view = _case(request, number)
    return render(
        request,
        "console/case.html",
        {
            "view": view,
            "visibilities": Visibility.choices,
            "articles": knowledge.articles_of_case(user=request.user, ticket=view.ticket),
        },
    )


@require("console.use")
@require_POST
def note_add(request: HttpRequest, number: str) -> HttpResponse:
    view = _case(request, number)
    try:
        services.note_add(
            actor=request.user,
            ticket=view.ticket,
            body=request.POST.get("body", ""),
            visibility=request.POST.get("visibility", ""),
        )
    except services.ConsoleError as error:
        messages.error(request, error.message)
    else:
        services.draft_discard(actor=request.user, key=f"note:case:{view.ticket.number}")
    return redirect("console:case", number=number)


@require("console.use")
@require_POST
def attachment_add(request: HttpRequest, number: str) -> HttpResponse:
    view = _case(request, number)
    upload = request.FILES.get("file")
    status = 302
    try:
        if upload is None:
            raise services.ConsoleError(_("Choose a file to attach."))
        services.attachment_add(
            actor=request.user,
            ticket=view.ticket,
            upload=upload,
            visibility=request.POST.get("visibility", Visibility.INTERNAL),
        )
    except services.ConsoleError as error:
        messages.error(request, error.message)
        status = 400
    if status == 400:
        return render(
            request,
            "console/case.html",
            {"view": _case(request, number), "visibilities": Visibility.choices},
            status=400,
        )
    return redirect("console:case", number=number)


@require("console.use")
def attachment(request: HttpRequest, pk: int) -> HttpResponse:
    """Download an attachment after the access check (files are not public)."""
    try:
        item = selectors.attachment_for(user=request.user, pk=pk)
    except ObjectDoesNotExist:
        raise Http404("attachment") from None
    return FileResponse(  # type: ignore[return-value]
        item.file.open("rb"),
        content_type=item.content_type,
        as_attachment=item.kind != "photo",
        filename=item.name,
    )


@require("wallboard.view")
def wallboard(request: HttpRequest) -> HttpResponse:
    """The supervisors' live wallboard (push plus polling)."""
    board = selectors.wallboard(user=request.user)
    template = "console/_wallboard.html" if _htmx(request) else "console/wallboard.html"
    return render(request, template, {"board": board})
