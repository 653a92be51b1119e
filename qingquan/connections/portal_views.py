"""The online hall's pages of new connections (mounted under /portal/connections/ so the
portal's own cookie reaches them): apply with the one document, follow the application
(its clock and what waits on whom), acknowledge the contract and pay the works fee by QR.
Every application is found through the resident: another one's number is a 404."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from qingquan.connections import selectors, services
from qingquan.connections.forms import PROJECT_FIELDS, ApplicationForm
from qingquan.connections.models import Application, Quote, RealEstateProject
from qingquan.connections.views import application_input, form_error
from qingquan.core.actors import system
from qingquan.portal import auth

PORTAL = system("portal")


@auth.resident_required
def mine(request: HttpRequest) -> HttpResponse:
    resident = request.resident  # type: ignore[attr-defined]
    rows = list(selectors.applications_of_resident(resident).order_by("-created_at")[:50])
    return render(request, "connections/portal_list.html", {"rows": rows})


@auth.resident_required
def apply(request: HttpRequest) -> HttpResponse:
    """Apply for a new connection: the one document, checked before anything is kept."""
    resident = request.resident  # type: ignore[attr-defined]
    data = request.POST.copy() if request.method == "POST" else None
    if data is not None:
        data["phone"] = resident.phone  # the verified login number
    form = ApplicationForm(data, initial={"phone": resident.phone})
    if data is not None and form.is_valid():
        try:
            app = services.application_create(
                actor=PORTAL,
                data=application_input(form, request.FILES.getlist("document"), "portal"),
                resident=resident,
            )
        except ValidationError as exc:
            form_error(form, exc)
        else:
            messages.success(
                request,
                _("Application %(n)s received. Your customer manager is %(m)s.")
                % {"n": app.number, "m": app.manager.get_full_name()},
            )
            return redirect("portal:connection", number=app.number)
    return render(
        request, "connections/portal_apply.html", {"form": form, "project_fields": PROJECT_FIELDS}
    )


def _mine(request: HttpRequest, number: str) -> Application:
    resident = request.resident  # type: ignore[attr-defined]
    app = selectors.applications_of_resident(resident).filter(number=number[:24]).first()
    if app is None:
        raise Http404
    return app


@auth.resident_required
def detail(request: HttpRequest, number: str) -> HttpResponse:
    app = _mine(request, number)
    quote = Quote.objects.filter(application=app).select_related("order").first()
    context: dict[str, Any] = {
        "app": app,
        "clock": selectors.clock_view(app),
        "steps": list(app.steps.order_by("order")),
        "entries": list(app.entries.filter(public=True).order_by("at", "pk")),
        "quote": quote,
        "lines": list(quote.lines.all()) if quote else [],
        "project": RealEstateProject.objects.filter(application=app).first(),
    }
    return render(request, "connections/portal_detail.html", context)


@auth.resident_required
@require_POST
def sign(request: HttpRequest, number: str) -> HttpResponse:
    """The applicant acknowledges the contract; the QR payment follows."""
    app = _mine(request, number)
    try:
        quote = services.contract_acknowledge(
            actor=PORTAL,
            application=app,
            signer=request.POST.get("signer", ""),
            provider_name=request.POST.get("provider", "wechat"),
        )
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
        return redirect("portal:connection", number=app.number)
    assert quote.order is not None
    return redirect(f"{quote.order.code_url}?next=/portal/connections/{app.number}/")
