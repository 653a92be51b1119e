"""Dispatch pages: the dispatcher's board (Leaflet map without tiles, the list with its
clocks, refreshed by HTMX polling), a job's page (suggested crews with their reasons,
assign in one click, reassign with a reason, pause the restoration clock) and the crew
app (a phone-sized page driven by dispatch/static/dispatch/crew.js over the API, with its
offline queue)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from qingquan.areas.models import District
from qingquan.dispatch import selectors, services
from qingquan.dispatch.errors import DispatchError
from qingquan.dispatch.models import Crew, JobState, PauseReason
from qingquan.staff.access import can, require

REFRESH_SECONDS = 10


def _filters(request: HttpRequest) -> dict[str, Any]:
    district = request.GET.get("district") or ""
    state = request.GET.get("state") or ""
    return {
        "district": int(district) if district.isdigit() else None,
        "state": state if state in JobState.values else None,
    }


@require("dispatch.view")
def board(request: HttpRequest) -> HttpResponse:
    filters = _filters(request)
    rows = selectors.board(user=request.user, **filters)
    crews = selectors.crews(user=request.user)
    config = {
        "geojson": reverse("api:dispatch_geojson"),
        "query": request.GET.urlencode(),
        "list": reverse("dispatch:board_list"),
        "refresh": REFRESH_SECONDS,
        "network": reverse("api:network_geojson") if can(request.user, "network.view") else "",
        "alerts": _alert_texts(),
    }
    return render(
        request,
        "dispatch/board.html",
        {
            "rows": rows,
            "total": selectors.board_count(user=request.user, **filters),
            "crews": crews,
            "config": config,
            "filters": filters,
            "districts": District.objects.order_by("code"),
            "states": [s for s in JobState if s not in (JobState.RESTORED, JobState.CANCELLED)],
            "may_manage": can(request.user, "dispatch.manage"),
            "refresh": REFRESH_SECONDS,
        },
    )


def _alert_texts() -> dict[str, str]:
    """The words of the board's live alerts (the pushes carry only the facts)."""
    return {
        "arrive:warning": _("Job %(job)s: the arrival clock is past its warning share."),
        "arrive:breached": _("Job %(job)s: the crew is late (arrival clock overdue)."),
        "restore:warning": _("Job %(job)s: the restoration clock is past its warning share."),
        "restore:breached": _("Job %(job)s: supply not restored in time (overdue)."),
    }


@require("dispatch.view")
def board_list(request: HttpRequest) -> HttpResponse:
    """The list part of the board (HTMX polls it)."""
    filters = _filters(request)
    rows = selectors.board(user=request.user, **filters)
    return render(
        request,
        "dispatch/_list.html",
        {
            "rows": rows,
            "total": selectors.board_count(user=request.user, **filters),
            "crews": selectors.crews(user=request.user),
            "refresh": REFRESH_SECONDS,
        },
    )


@require("dispatch.manage")
@require_POST
def job_new(request: HttpRequest) -> HttpResponse:
    number = (request.POST.get("case") or "").strip()[:16]
    ticket = selectors.case_for_job(user=request.user, number=number)
    if ticket is None:
        messages.error(request, str(_("No case %(number)s that you may see.")) % {"number": number})
        return HttpResponseRedirect(reverse("dispatch:board"))
    try:
        job = services.job_create(
            actor=request.user, ticket=ticket, note=request.POST.get("note", "")
        )
    except DispatchError as error:
        messages.error(request, error.message)
        return HttpResponseRedirect(reverse("dispatch:board"))
    return HttpResponseRedirect(reverse("dispatch:job", args=[job.number]))


@require("dispatch.view")
def job_page(request: HttpRequest, number: str) -> HttpResponse:
    try:
        job = selectors.job_for(user=request.user, number=number)
    except DispatchError as error:
        return render(request, "dispatch/missing.html", {"message": error.message}, status=404)
    if request.method == "POST":
        return _job_action(request, job)
    row = selectors.job_row(job)
    return render(
        request,
        "dispatch/job.html",
        {
            "row": row,
            "job": row.job,
            "suggestions": selectors.suggest(user=request.user, job=row.job)
            if row.job.is_open
            else [],
            "steps": selectors.job_steps(row.job),
            "assignments": selectors.job_crews(row.job),
            "may_manage": can(request.user, "dispatch.manage"),
            "pause_reasons": PauseReason.choices,
            "road_factor": selectors.road_factor(),
            "speed": round(selectors.speed_kmh()),
        },
    )


def _job_action(request: HttpRequest, job: Any) -> HttpResponse:
    action = request.POST.get("action", "")
    version = request.POST.get("version", "")
    v = int(version) if version.isdigit() else None
    back = HttpResponseRedirect(reverse("dispatch:job", args=[job.number]))
    try:
        if action in ("assign", "add"):
            crew = Crew.objects.get(pk=int(request.POST.get("crew", "0") or 0))
            services.job_assign(
                actor=request.user, job=job, crew=crew, version=v, add=action == "add"
            )
            messages.success(request, _("%(crew)s is sent.") % {"crew": crew})
        elif action == "reassign":
            old = Crew.objects.get(pk=int(request.POST.get("old", "0") or 0))
            new = Crew.objects.get(pk=int(request.POST.get("new", "0") or 0))
            services.job_reassign(
                actor=request.user,
                job=job,
                version=v,
                old=old,
                new=new,
                reason=request.POST.get("reason", ""),
            )
            messages.success(request, _("%(crew)s is sent.") % {"crew": new})
        elif action == "pause":
            services.job_pause(
                actor=request.user,
                job=job,
                version=v,
                reason=request.POST.get("reason", ""),
                note=request.POST.get("note", ""),
            )
        elif action == "resume":
            services.job_resume(actor=request.user, job=job, version=v)
        elif action == "cancel":
            services.job_cancel(
                actor=request.user, job=job, version=v, reason=request.POST.get("reason", "")
            )
    except Crew.DoesNotExist:
        messages.error(request, _("Choose a crew."))
    except (ValueError, DispatchError) as error:
        messages.error(request, getattr(error, "message", str(error)))
    return back


@require("dispatch.crew")
def crew_app(request: HttpRequest) -> HttpResponse:
    """The crew app's page: its script reads the crew's jobs from the API, queues the steps
    taken without signal in the browser and sends them when the connection returns."""
    crew = selectors.crew_of_user(request.user)
    config = {
        "jobs": reverse("dispatch:crew_jobs"),
        "api": "/api/v1/dispatch/",
        "crew": crew.team.code if crew else None,
        "user": request.user.pk,
    }
    return render(request, "dispatch/crew.html", {"crew": crew, "config": config})


@require("dispatch.crew")
def crew_jobs(request: HttpRequest) -> HttpResponse:
    """The crew's jobs as an HTML fragment (the crew app reloads it when online)."""
    jobs = selectors.my_jobs(user=request.user)
    return render(request, "dispatch/_crew_jobs.html", {"jobs": jobs, "labels": _labels()})


def _labels() -> dict[str, dict[str, str]]:
    from qingquan.dispatch.models import StepKind

    return {
        "steps": {k: str(v) for k, v in StepKind.choices},
        "states": {k: str(v) for k, v in JobState.choices},
    }
