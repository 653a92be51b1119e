"""Network pages: the map (Leaflet, our own layers, no tiles), the isolation plan panel
(an HTMX fragment the map's script loads on a click) and the plan's account list."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from qingquan.network import hydraulics, selectors, services
from qingquan.staff.access import can, require

PAGE_SIZE = 50
PREMISES_ZOOM = 17  # premises are drawn from this zoom on


@require("network.view")
def map_page(request: HttpRequest) -> HttpResponse:
    summary = selectors.network_summary(user=request.user)
    config = {
        "geojson": reverse("api:network_geojson"),
        "plan_geojson": reverse("api:network_isolation_geojson"),
        "plan_panel": reverse("network:plan"),
        "premises": reverse("api:network_premises"),
        "premises_zoom": PREMISES_ZOOM,
        "cases": reverse("api:network_cases"),
        "search": reverse("api:network_search"),
        "bounds": summary.bounds,
        "tiles": None,
    }
    from django.conf import settings

    template = getattr(settings, "NETWORK_TILE_URL", "")
    if template:
        config["tiles"] = template
    return render(request, "network/map.html", {"summary": summary, "config": config})


def _plan_args(request: HttpRequest) -> dict[str, object]:
    pipe = request.GET.get("pipe", "").strip()
    if pipe:
        return {"pipe": pipe[:40]}
    try:
        return {"lon": float(request.GET["lon"]), "lat": float(request.GET["lat"])}
    except (KeyError, ValueError):
        return {}


@require("network.view")
def plan(request: HttpRequest) -> HttpResponse:
    """The isolation plan of `?pipe=` (or `?lon=&lat=`): valves, counts, areas."""
    args = _plan_args(request)
    error = ""
    result = None
    status = 200
    try:
        result = selectors.isolation_plan(user=request.user, **args)  # type: ignore[arg-type]
    except (selectors.NotFound, selectors.TooFar) as refused:
        error = refused.message
        status = 404 if isinstance(refused, selectors.NotFound) else 422
    return render(
        request,
        "network/_plan.html",
        {"plan": result, "error": error, "may_manage": can(request.user, "network.manage")},
        status=status,
    )


@require("network.view")
def plan_accounts(request: HttpRequest) -> HttpResponse:
    """Every account a plan leaves without water, paged."""
    args = _plan_args(request)
    error = ""
    result = None
    page = None
    try:
        result = selectors.isolation_plan(user=request.user, **args)  # type: ignore[arg-type]
    except (selectors.NotFound, selectors.TooFar) as refused:
        error = refused.message
    if result is not None:
        number = request.GET.get("page", "1")
        wanted = int(number) if number.isdigit() and 0 < int(number) < 100_000 else 1
        rows, total = selectors.affected_accounts(
            user=request.user, plan=result, page=wanted, page_size=PAGE_SIZE
        )
        paginator = Paginator(range(total), PAGE_SIZE)
        page = paginator.get_page(wanted)
        page.object_list = rows  # type: ignore[assignment]
    return render(
        request,
        "network/accounts.html",
        {"plan": result, "error": error, "page": page},
        status=200 if result is not None else 404,
    )


@require("network.view")
@require_http_methods(["GET", "POST"])
def hydraulic(request: HttpRequest) -> HttpResponse:
    """The plan's hydraulic consequence (an HTMX fragment of the plan panel): a button to
    start the simulation (POST), its progress while it runs (the fragment polls itself),
    then the low-pressure junctions and who is attached to them."""
    args = _plan_args(request)
    error = ""
    run = None
    status = 200
    try:
        result = selectors.isolation_plan(user=request.user, counts=False, **args)  # type: ignore[arg-type]
    except (selectors.NotFound, selectors.TooFar) as refused:
        return render(request, "network/_hydraulic.html", {"error": refused.message}, status=404)
    if request.method == "POST":
        try:
            run = services.hydraulic_request(actor=request.user, pipe=result.pipe)
        except services.NetworkError as refused:
            error, status = refused.message, 422
    else:
        run = selectors.hydraulic_for_plan(user=request.user, plan=result)
    return render(
        request,
        "network/_hydraulic.html",
        {
            "plan": result,
            "run": run,
            "error": error,
            "threshold": hydraulics.low_pressure_m(),
            "geojson": reverse("api:network_hydraulic_geojson", args=[run.pk]) if run else "",
        },
        status=status,
    )


@require("tickets.view")
@require_POST
def case_merge(request: HttpRequest, number: str) -> HttpResponse:
    """The case page's one-click merge (并单) of a new report into the open incident it
    was offered (`services.case_merge_into_incident`, through the tickets merge)."""
    from qingquan.tickets.errors import TicketError
    from qingquan.tickets.selectors import ticket_to_open

    try:
        ticket = ticket_to_open(user=request.user, number=number)
    except TicketError:
        raise Http404(number) from None
    try:
        version = int(request.POST.get("version", ""))
    except ValueError:
        version = None
    incident = request.POST.get("incident", "").strip()[:40]
    try:
        services.case_merge_into_incident(
            actor=request.user, ticket=ticket, version=version, incident=incident
        )
    except (services.NetworkError, TicketError) as refused:
        messages.error(request, refused.message)
    else:
        messages.success(
            request,
            _("Case %(number)s merged into incident %(incident)s.")
            % {"number": number, "incident": incident},
        )
    return redirect("tickets:detail", number=number)
