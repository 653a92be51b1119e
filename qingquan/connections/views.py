"""Staff pages of new connections: the portfolio with clocks, the counter/agent
application form, an application with its steps, clock, timeline and the actions its
owner may take, the document and the contract PDF (after the access check)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from qingquan.connections import selectors, services
from qingquan.connections.forms import (
    PROJECT_FIELDS,
    PauseForm,
    ReadyForm,
    SignForm,
    StaffApplicationForm,
)
from qingquan.connections.models import (
    Application,
    FeeItem,
    ManagerCall,
    Quote,
    RealEstateProject,
)
from qingquan.core.access import AccessDenied
from qingquan.staff.access import can, require
from qingquan.staff.models import User
from qingquan.staff.roles import Role


@require("connections.view")
def portfolio(request: HttpRequest) -> HttpResponse:
    """The customer manager's portfolio (every application for supervisors)."""
    return render(request, "connections/portfolio.html", selectors.portfolio(request.user))


def application_input(form: Any, files: list[Any], channel: str) -> services.ApplicationInput:
    data = form.cleaned_data
    project = (
        services.ProjectInput(
            name=data.get("project_name") or "",
            households=data.get("households") or 0,
            ready_on=data.get("ready_on"),
            ready_evidence=data.get("ready_evidence") or "",
        )
        if data["use"] == "real_estate"
        else None
    )
    return services.ApplicationInput(
        project=project,
        applicant_kind=data["applicant_kind"],
        applicant_name=data["applicant_name"],
        phone=data["phone"],
        document_kind=data["document_kind"],
        document_number=data["document_number"],
        documents=files,
        use=data["use"],
        m3_per_day=data["m3_per_day"],
        pipe_mm=data["pipe_mm"],
        address=data["address"],
        external_works=data["external_works"],
        channel=channel,
    )


def form_error(form: Any, exc: ValidationError) -> None:
    field = getattr(exc, "field", "")
    form.add_error(field if field in form.fields else None, exc.messages[0])


@require("connections.apply")
def new(request: HttpRequest) -> HttpResponse:
    """An application taken at the counter or by an agent on the phone."""
    form = StaffApplicationForm(request.POST or None)
    managers = User.objects.filter(role=Role.CUSTOMER_MANAGER, is_active=True).order_by("pk")
    if request.method == "POST" and form.is_valid():
        manager = managers.filter(pk=request.POST.get("manager") or 0).first()
        try:
            app = services.application_create(
                actor=request.user,
                data=application_input(
                    form, request.FILES.getlist("document"), form.cleaned_data["channel"]
                ),
                manager=manager,
            )
        except ValidationError as exc:
            form_error(form, exc)
        else:
            messages.success(
                request,
                _("Application %(n)s taken; customer manager %(m)s.")
                % {"n": app.number, "m": app.manager.get_full_name()},
            )
            if can(request.user, "connections.view"):
                return redirect("connections:detail", number=app.number)
            return redirect("connections:new")
    return render(
        request,
        "connections/new.html",
        {"form": form, "managers": managers, "project_fields": PROJECT_FIELDS},
    )


def _found(request: HttpRequest, number: str) -> Application:
    app = selectors.application_for(request.user, number)
    if app is None:
        raise Http404
    return app


@require("connections.view")
def detail(request: HttpRequest, number: str) -> HttpResponse:
    app = _found(request, number)
    quote = Quote.objects.filter(application=app).prefetch_related("lines").first()
    return render(
        request,
        "connections/detail.html",
        {
            "app": app,
            "clock": selectors.clock_view(app),
            "steps": list(app.steps.select_related("owner", "done_by").order_by("order")),
            "pauses": list(app.pauses.order_by("started_at")),
            "entries": list(app.entries.order_by("at", "pk")),
            "quote": quote,
            "fee_items": list(FeeItem.objects.filter(is_active=True)),
            "engineers": User.objects.filter(role=Role.BACK_OFFICE, is_active=True),
            "pause_form": PauseForm(),
            "project": RealEstateProject.objects.filter(application=app).first(),
            "ready_form": ReadyForm(),
            "sign_form": SignForm(),
            "may_work": can(request.user, "connections.work"),
            "calls": list(app.calls.order_by("due_on")),
        },
    )


def _version(request: HttpRequest) -> int | None:
    try:
        return int(request.POST.get("version", ""))
    except ValueError:
        return None


def _quote_lines(request: HttpRequest) -> list[tuple[FeeItem, str]]:
    lines = []
    for item in FeeItem.objects.filter(is_active=True):
        quantity = request.POST.get(f"qty-{item.pk}", "").strip()
        if quantity and quantity != "0":
            lines.append((item, quantity))
    return lines


ACTIONS: dict[str, Callable[[HttpRequest, Application, int | None], Any]] = {
    "step": lambda r, a, v: services.step_complete(
        actor=r.user,
        application=a,
        version=v,
        note=r.POST.get("note", ""),
        engineer=User.objects.filter(pk=r.POST.get("engineer") or 0).first(),
    ),
    "pause": lambda r, a, v: services.pause_start(
        actor=r.user,
        application=a,
        version=v,
        reason=r.POST.get("reason", ""),
        evidence=r.POST.get("evidence", ""),
    ),
    "resume": lambda r, a, v: services.pause_end(actor=r.user, application=a, version=v),
    "quote": lambda r, a, v: services.quote_issue(
        actor=r.user, application=a, version=v, lines=_quote_lines(r)
    ),
    "sign": lambda r, a, v: services.contract_acknowledge(
        actor=r.user,
        application=a,
        version=v,
        signer=r.POST.get("signer", ""),
        provider_name=r.POST.get("provider", "wechat"),
    ),
    "ready": lambda r, a, v: services.ready_record(
        actor=r.user,
        application=a,
        version=v,
        ready_on=r.POST.get("ready_on", ""),
        evidence=r.POST.get("evidence", ""),
        documents=r.FILES.getlist("document"),
    ),
    "cancel": lambda r, a, v: services.application_cancel(
        actor=r.user, application=a, version=v, reason=r.POST.get("reason", "")
    ),
}


@require("connections.work")
@require_POST
def act(request: HttpRequest, number: str, action: str) -> HttpResponse:
    """One action on the application; a refusal comes back as a message, never a 500."""
    if action not in ACTIONS:
        raise Http404
    app = _found(request, number)
    try:
        ACTIONS[action](request, app, _version(request))
    except (ValidationError, AccessDenied) as exc:
        text = exc.messages[0] if isinstance(exc, ValidationError) else str(exc)
        messages.error(request, text)
    else:
        messages.success(request, _("Done."))
    return redirect("connections:detail", number=app.number)


@require("connections.view")
def document(request: HttpRequest, number: str) -> HttpResponse:
    app = _found(request, number)
    if request.GET.get("which") == "ready":  # a real-estate project's readiness document
        project = RealEstateProject.objects.filter(application=app).first()
        if project is None or not project.ready_document:
            raise Http404
        kinds = {".pdf": "application/pdf", ".jpg": "image/jpeg", ".png": "image/png"}
        name = str(project.ready_document.name or "")
        kind = kinds.get(name[-4:].lower(), "application/octet-stream")
        ready: Any = FileResponse(project.ready_document.open("rb"), content_type=kind)
        return ready
    response: Any = FileResponse(
        app.document.open("rb"), content_type=app.document_type, as_attachment=False
    )
    return response


@require("connections.view")
def contract(request: HttpRequest, number: str) -> HttpResponse:
    app = _found(request, number)
    quote = Quote.objects.filter(application=app).first()
    if quote is None:
        raise Http404
    response = HttpResponse(services.contract_pdf(quote), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{app.number}.pdf"'
    return response


@require("connections.view")
def report(request: HttpRequest) -> HttpResponse:
    """The monthly report against the baseline (R-CON-3); `?month=YYYY-MM`. For the
    readers of its figures (`report.may_read`: supervisors, administrators, customer
    managers); each figure drills down to the applications behind it."""
    from qingquan.connections.report import BASELINE, may_read, monthly_report
    from qingquan.core import clock

    if not may_read(request.user):
        raise AccessDenied(capability="connections.view_all")

    today = clock.today()
    year, month = today.year, today.month
    raw = request.GET.get("month", "")
    if raw:
        try:
            year, month = (int(part) for part in raw.split("-", 1))
            if not (2000 <= year <= 2100 and 1 <= month <= 12):
                raise ValueError
        except ValueError:
            messages.error(request, _("Give the month as YYYY-MM."))
            year, month = today.year, today.month
    rows = monthly_report(actor=request.user, year=year, month=month)
    return render(
        request,
        "connections/report.html",
        {"rows": rows, "month": f"{year:04d}-{month:02d}", "baseline": BASELINE},
    )


@require("connections.work")
@require_POST
def call_record(request: HttpRequest, pk: int) -> HttpResponse:
    call = ManagerCall.objects.filter(pk=pk, manager_id=request.user.pk).first()
    if call is None:
        raise Http404
    try:
        services.manager_call_record(
            actor=request.user, call=call, note=request.POST.get("note", "")
        )
    except (ValidationError, AccessDenied) as exc:
        text = exc.messages[0] if isinstance(exc, ValidationError) else str(exc)
        messages.error(request, text)
    else:
        messages.success(request, _("Call recorded."))
    return redirect("connections:portfolio")
