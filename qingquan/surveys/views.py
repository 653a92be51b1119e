"""Callback pages: my callbacks (due and overdue), recording a call, the public survey."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from qingquan.core import clock
from qingquan.staff.access import can, require
from qingquan.surveys import selectors, services
from qingquan.surveys.models import CallbackTask, Outcome
from qingquan.tickets.errors import TicketError


@require("surveys.callback")
def mine(request: HttpRequest) -> HttpResponse:
    """My open callbacks, overdue first, with the form to record each call."""
    now = clock.now()
    rows = list(selectors.open_callbacks(request.user).filter(assignee_id=request.user.pk)[:300])
    context: dict[str, Any] = {
        "overdue": [t for t in rows if t.due_at < now],
        "due": [t for t in rows if t.due_at >= now],
        "outcomes": Outcome.choices,
        "now": now,
    }
    if can(request.user, "tickets.supervise"):
        context["team_overdue"] = selectors.open_callbacks(request.user).filter(due_at__lt=now)[
            :200
        ]
    context["done"] = (
        selectors.callbacks_for(request.user)
        .filter(assignee_id=request.user.pk, status=CallbackTask.Status.DONE)
        .order_by("-completed_at")[:20]
    )
    return render(request, "surveys/mine.html", context)


@require("surveys.callback")
@require_POST
def record(request: HttpRequest, pk: int) -> HttpResponse:
    """Record one call's outcome (a form error comes back as a message, never a 500)."""
    task = selectors.callbacks_for(request.user).filter(pk=pk).first()
    if task is None:
        raise Http404
    try:
        version = int(request.POST.get("version", ""))
    except ValueError:
        version = -1
    try:
        task = services.callback_attempt_record(
            actor=request.user,
            task=task,
            version=version,
            outcome=request.POST.get("outcome", ""),
            note=request.POST.get("note", ""),
        )
    except TicketError as error:
        messages.error(request, str(error))
        return redirect("surveys:mine")
    if task.is_open:
        messages.info(request, _("Attempt recorded; try again at the time shown."))
    else:
        messages.success(
            request, _("Callback recorded: %(outcome)s") % {"outcome": task.get_outcome_display()}
        )
    return redirect("surveys:mine")


@require("surveys.callback")
def link(request: HttpRequest, pk: int) -> HttpResponse:
    """The survey link for one open callback, to send to the customer by SMS."""
    task = selectors.callbacks_for(request.user).filter(pk=pk).first()
    if task is None or not task.is_open:
        raise Http404
    url = request.build_absolute_uri(services.survey_url(task))
    return render(request, "surveys/link.html", {"task": task, "url": url})


def survey(request: HttpRequest, token: str) -> HttpResponse:
    """The public one-question survey (no login). Bad links get a clear page and a 4xx."""
    try:
        task = services.survey_task(token)
    except services.SurveyLinkError as error:
        return render(
            request, "surveys/survey_closed.html", {"message": str(error)}, status=error.status
        )
    message = ""
    if request.method == "POST":
        try:
            services.survey_answer(
                token=token,
                answer=request.POST.get("answer", ""),
                comment=request.POST.get("comment", ""),
            )
        except services.SurveyLinkError as exc:
            return render(
                request, "surveys/survey_closed.html", {"message": str(exc)}, status=exc.status
            )
        except TicketError as exc:
            message = str(exc)
        else:
            return render(request, "surveys/survey_thanks.html")
    return render(
        request,
        "surveys/survey.html",
        {
            "task": task,
            "answers": [(a.value, a.label) for a in services.SURVEY_ANSWERS],
            "error": message,
        },
        status=400 if message else 200,
    )
