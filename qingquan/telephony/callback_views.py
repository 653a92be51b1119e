"""The agents' callback screen in the console: waiting requests, take one, call back
through the phone system, record the outcome."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from qingquan.staff.access import require
from qingquan.telephony import callbacks, selectors, services
from qingquan.telephony.models import CallbackOutcome


@require("console.use")
def callback_list(request: HttpRequest) -> HttpResponse:
    """Waiting callback requests and the agent's own; POST take / dial / finish."""
    error = ""
    if request.method == "POST":
        pk = request.POST.get("request", "")
        action = request.POST.get("action", "")
        try:
            if not pk.isdigit():
                raise services.TelephonyError(selectors_error())
            if action == "take":
                callbacks.callback_take(actor=request.user, request_pk=int(pk))
            elif action == "dial":
                callbacks.callback_dial(actor=request.user, request_pk=int(pk))
            elif action == "finish":
                callbacks.callback_finish(
                    actor=request.user,
                    request_pk=int(pk),
                    outcome=request.POST.get("outcome", ""),
                    note=request.POST.get("note", ""),
                )
            else:
                raise services.TelephonyError(selectors_error())
        except services.TelephonyError as exc:
            error = exc.message
        else:
            return redirect(reverse("telephony:callbacks"))
    return render(
        request,
        "telephony/callbacks.html",
        {
            **selectors.callbacks_for(user=request.user),
            "outcomes": CallbackOutcome.choices,
            "error": error,
            "may_dial": callbacks.dialer() is not None,
        },
        status=400 if error else 200,
    )


def selectors_error() -> str:
    from django.utils.translation import gettext as _

    return _("Choose a callback request and what to do with it.")
