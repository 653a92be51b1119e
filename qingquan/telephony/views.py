"""The CTI webhook (`POST /telephony/events`) and the demo call simulator."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any
from urllib.parse import urlencode

import httpx
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from qingquan.staff.access import require
from qingquan.telephony import recordings, selectors, services
from qingquan.telephony.models import HangupCause


def _htmx(request: HttpRequest) -> bool:
    """True for requests made by HTMX (django-htmx sets request.htmx)."""
    return bool(getattr(request, "htmx", False))


def _token(request: HttpRequest) -> str:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.headers.get("X-Pbx-Token", "").strip()


def _error(status: int, message: str, english: str) -> JsonResponse:
    return JsonResponse(
        {"error": message, "error_en": english},
        status=status,
        json_dumps_params={"ensure_ascii": False},
    )


def _english(check: Any, *args: Any) -> str:
    """The same refusal in English (PBX integrators read the replies too)."""
    with translation.override("en"):
        try:
            check(*args)
        except services.TelephonyError as error:
            return error.message
    return ""


@csrf_exempt
@require_POST
def events(request: HttpRequest) -> HttpResponse:
    """Receive one call event from a phone system (token in `Authorization: Bearer …`).

    Errors answer {"error": <active language, Chinese by default>, "error_en": <English>}.
    """
    pbx = services.pbx_authenticate(_token(request))
    if pbx is None:
        with translation.override("en"):
            english = _("Unknown or inactive phone-system token.")
        return _error(403, _("Unknown or inactive phone-system token."), english)
    try:
        data = json.loads(request.body or b"")
    except (ValueError, UnicodeDecodeError):
        with translation.override("en"):
            english = _("The body is not valid JSON.")
        return _error(400, _("The body is not valid JSON."), english)
    try:
        event = services.parse_event(data)
        result = services.call_event_handle(pbx=pbx, event=event)
    except services.TelephonyError as error:
        return _error(400, error.message, _english(services.parse_event, data) or error.message)
    return JsonResponse(
        {**result.reply, "duplicate": result.duplicate},
        json_dumps_params={"ensure_ascii": False},
    )


DEMO_SCENARIOS = ("ring", "answer", "hangup", "ring_answer", "abandon")


def _post_event(request: HttpRequest, token: str, payload: dict[str, Any]) -> tuple[int, Any]:
    url = request.build_absolute_uri(reverse("telephony:events"))
    try:
        response = httpx.post(
            url, json=payload, headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
    except httpx.HTTPError as error:
        return 0, {"error": str(error)}
    try:
        body = response.json()
    except ValueError:
        body = {"error": response.text[:200]}
    return response.status_code, body


@require("telephony.simulate")
def simulator(request: HttpRequest) -> HttpResponse:
    """演示工具: post real call events to this platform's own webhook, as a PBX would.

    The calls live on the server: every visit re-reads the demo phone system's calls not
    yet ended, so a call rung here can be answered or hung up after navigating away."""
    from qingquan.telephony.demo import DEMO_PBX_TOKEN

    values = {
        "token": DEMO_PBX_TOKEN,
        "from": "13800005678",
        "extension": "",
        "queue": "96390",
        "cause": "normal",
        "call_id": "",
        "recording": "",
    }
    results: list[tuple[str, int, Any]] = []
    live = list(selectors.simulator_live_calls()[:10])
    if request.method != "POST" and live:
        latest = live[0]
        values.update(
            call_id=latest.call_id, extension=latest.extension or "", **{"from": latest.from_number}
        )
    if request.method == "POST":
        values.update({k: request.POST.get(k, "").strip() for k in values})
        action = request.POST.get("action", "")
        if action not in DEMO_SCENARIOS:
            results.append((action, 400, {"error": _("Choose what the phone system does.")}))
        else:
            if action in ("ring", "ring_answer", "abandon") or not values["call_id"]:
                values["call_id"] = f"sim-{uuid.uuid4().hex[:12]}"
            steps = {"ring_answer": ["ring", "answer"], "abandon": ["ring", "hangup"]}.get(
                action, [action]
            )
            for step in steps:
                payload = {
                    "event_id": uuid.uuid4().hex,
                    "type": step,
                    "call_id": values["call_id"],
                    "from": values["from"],
                    "to": "96390",
                    "direction": "inbound",
                    "queue": values["queue"],
                    # On ring the PBX offers the call to that extension (it rings there).
                    "extension": values["extension"],
                    "cause": (values["cause"] if action != "abandon" else "cancel")
                    if step == "hangup"
                    else "",
                    "recording": values["recording"] if step == "hangup" else "",
                }
                status, body = _post_event(request, values["token"], payload)
                results.append((step, status, body))
        live = list(selectors.simulator_live_calls()[:10])
        if action == "hangup" or action == "abandon":
            # The call just ended: the buttons move on to a call still live, if any.
            values["call_id"] = live[0].call_id if live else ""
    return render(
        request,
        "telephony/simulator.html",
        {
            "values": values,
            "results": results,
            "causes": HangupCause.choices,
            "agents": selectors.agents_with_extension(),
            "recent": selectors.recent_calls(user=request.user)[:15],
            "live": live,
        },
    )


@require("console.use")
@require_POST
def agent_state(request: HttpRequest) -> HttpResponse:
    """The agent's own state buttons (available, after-call work, break, signed out)."""
    try:
        services.agent_state_set(actor=request.user, status=request.POST.get("status", ""))
    except services.TelephonyError as error:
        response = render(
            request,
            "telephony/_state.html",
            {"state": selectors.agent_state_of(request.user), "error": error.message},
            status=400 if not _htmx(request) else 200,
        )
        return response
    return render(
        request, "telephony/_state.html", {"state": selectors.agent_state_of(request.user)}
    )


@require("console.use")
def agent_state_panel(request: HttpRequest) -> HttpResponse:
    return render(
        request, "telephony/_state.html", {"state": selectors.agent_state_of(request.user)}
    )


@require("telephony.block")
def blocked(request: HttpRequest) -> HttpResponse:
    """Numbers whose calls the phone system is told to reject (harassment, robocalls)."""
    error = ""
    values = {"number": "", "reason": ""}
    if request.method == "POST":
        try:
            if request.POST.get("unblock"):
                item = selectors.blocked_numbers().filter(pk=request.POST["unblock"]).first()
                if item is not None:
                    services.blocked_number_remove(actor=request.user, blocked=item)
            else:
                values = {k: request.POST.get(k, "") for k in values}
                services.blocked_number_add(actor=request.user, **values)
                values = {"number": "", "reason": ""}
        except services.TelephonyError as exc:
            error = exc.message
    return render(
        request,
        "telephony/blocked.html",
        {"items": selectors.blocked_numbers(), "values": values, "error": error},
        status=400 if error else 200,
    )


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


@require("telephony.recordings")
def recording(request: HttpRequest, contact_id: int) -> HttpResponse:
    """A call's recording (Ogg Vorbis; older ones WAV) for the case page's player; byte
    ranges for seeking. Access: `selectors.recording_for`; every listen (the first range)
    and download is audited."""
    contact, path = selectors.recording_for(user=request.user, contact_id=contact_id)
    size = path.stat().st_size
    download = request.GET.get("download") == "1"
    match = _RANGE.match(request.headers.get("Range", ""))
    start, end = 0, size - 1
    if match and (match.group(1) or match.group(2)):
        if match.group(1):
            start = int(match.group(1))
            end = min(int(match.group(2) or end), size - 1)
        else:
            start = max(size - int(match.group(2)), 0)
        if start > end:
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{size}"
            return response
    if start == 0:
        services.recording_listened(actor=request.user, contact=contact, download=download)
    with path.open("rb") as handle:
        handle.seek(start)
        body = handle.read(end - start + 1)
    kind = recordings.content_type(path)
    response = HttpResponse(body, content_type=kind, status=206 if match else 200)
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "private, no-store"
    if match:
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    if download:
        response["Content-Disposition"] = (
            f'attachment; filename="contact-{contact.pk}{path.suffix}"'
        )
    return response


# ---------------------------------------------------------------------------
# The IVR flow editor (supervisors): versions, rollback, prompts, a test call in the page
# ---------------------------------------------------------------------------


def _flow_page(
    request: HttpRequest, flow: Any, *, graph_text: str = "", errors: Any = (), status: int = 200
) -> HttpResponse:
    from qingquan.telephony.models import Prompt

    current = flow.current()
    if not graph_text and current is not None:
        graph_text = json.dumps(current.graph, ensure_ascii=False, indent=2)
    return render(
        request,
        "telephony/flow.html",
        {
            "flow": flow,
            "current": current,
            "versions": flow.versions.select_related("created_by")[:30],
            "graph_text": graph_text,
            "errors": list(errors),
            "prompts": Prompt.objects.all(),
            "keys": list("123456789*0#"),
        },
        status=status,
    )


@require("telephony.flows")
def flows_index(request: HttpRequest) -> HttpResponse:
    from qingquan.telephony.models import IvrFlow

    return render(request, "telephony/flows.html", {"flows": IvrFlow.objects.all()})


def _flow_url(slug: str) -> str:
    return reverse("telephony:flow") + "?" + urlencode({"flow": slug})


def _flow_of(request: HttpRequest) -> Any:
    from django.shortcuts import get_object_or_404

    from qingquan.telephony.models import IvrFlow

    slug = request.POST.get("flow") or request.GET.get("flow") or "standard"
    return get_object_or_404(IvrFlow, slug=slug[:40])


@require("telephony.flows")
def flow_edit(request: HttpRequest) -> HttpResponse:
    """Edit a flow's graph (saved as a new version with a note) or roll back to a version;
    the flow is `?flow=<slug>` (the standard flow by default)."""
    from django.shortcuts import redirect

    from qingquan.telephony import flows

    flow = _flow_of(request)
    if request.method != "POST":
        return _flow_page(request, flow)
    if request.POST.get("rollback"):
        try:
            flows.flow_rollback(actor=request.user, flow=flow, number=int(request.POST["rollback"]))
        except (ValueError, flows.FlowError) as exc:
            return _flow_page(request, flow, errors=[str(exc)], status=400)
        return redirect(_flow_url(flow.slug))
    text = request.POST.get("graph", "")
    try:
        graph = json.loads(text)
    except ValueError as exc:
        return _flow_page(
            request,
            flow,
            graph_text=text,
            errors=[_("The flow is not valid JSON: %(error)s") % {"error": exc}],
            status=400,
        )
    try:
        flows.flow_save(
            actor=request.user, flow=flow, graph=graph, note=request.POST.get("note", "")
        )
    except flows.FlowError as exc:
        return _flow_page(request, flow, graph_text=text, errors=exc.problems, status=400)
    return redirect(_flow_url(flow.slug))


@require("telephony.flows")
@require_POST
def flow_test_call(request: HttpRequest) -> HttpResponse:
    """A test call in the page: the flow runs with the fake driver and the keys given
    (one press or entry per collect, separated by spaces; "-" presses nothing); nothing it
    does is kept (the transaction is rolled back)."""
    from django.db import transaction

    from qingquan.telephony.ivr import FakeDriver, Session

    flow = _flow_of(request)
    current = flow.current()
    presses: list[str | None] = [
        None if p == "-" else p for p in request.POST.get("keys", "").split()
    ][:50]
    caller = request.POST.get("caller", "").strip()[:20] or "13800000000"
    driver = FakeDriver(keys=presses, gone_after=len(presses) + 2)
    with transaction.atomic():
        session = Session(
            driver=driver, caller=caller, graph=current.graph if current else None, line="test"
        )
        result = session.run()
        transaction.set_rollback(True)
    return render(
        request,
        "telephony/_test_call.html",
        {"log": driver.log, "trace": session.trace, "ending": result.ending},
    )


@require("telephony.flows")
def flow_speak(request: HttpRequest) -> HttpResponse:
    """The synthetic audio of a text (the test call's prompts, a prompt's preview)."""
    from qingquan.telephony import prompts

    text = request.GET.get("text", "").strip()[:500]
    key = request.GET.get("key", "")[:40]
    if not text:
        return HttpResponse(status=404)
    try:
        path = prompts.audio_for(key=key, text=text, dynamic=not key)
    except prompts.PromptError as exc:
        return HttpResponse(str(exc), status=503, content_type="text/plain; charset=utf-8")
    response = HttpResponse(path.read_bytes(), content_type="audio/wav")
    response["Cache-Control"] = "private, max-age=3600"
    return response


@require("telephony.flows")
@require_POST
def prompt_edit(request: HttpRequest) -> HttpResponse:
    """Change a prompt's text, upload a recording for it, or go back to synthetic audio."""
    from django.contrib import messages
    from django.shortcuts import get_object_or_404, redirect

    from qingquan.telephony import prompts
    from qingquan.telephony.models import Prompt

    prompt = get_object_or_404(Prompt, key=request.POST.get("key", "")[:40])
    try:
        if request.POST.get("clear"):
            prompts.prompt_clear_upload(actor=request.user, prompt=prompt)
        elif (upload := request.FILES.get("recording")) is not None:
            prompts.prompt_upload(
                actor=request.user, prompt=prompt, data=upload.read(), filename=upload.name or ""
            )
        else:
            prompts.prompt_set_text(
                actor=request.user, prompt=prompt, text=request.POST.get("text", "")
            )
        messages.success(request, _("Prompt %(key)s saved.") % {"key": prompt.key})
    except prompts.PromptError as exc:
        messages.error(request, str(exc))
    from qingquan.telephony.models import IvrFlow

    slug = request.POST.get("flow", "")
    if IvrFlow.objects.filter(slug=slug).exists():
        return redirect(_flow_url(slug))
    return redirect("telephony:flows")
