"""Delivery receipts and replies from the gateways (machine endpoints, a shared token, no
session), and the agents' messages inbox."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import xml.etree.ElementTree as ET
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from qingquan.core import clock
from qingquan.messaging import rules, selectors
from qingquan.messaging.inbound import Arrived, InboxError, inbound_answer, inbound_receive
from qingquan.messaging.services import ReceiptIn, receipts_record
from qingquan.staff.access import require

MAX_BODY = 1_000_000


def _allowed(request: HttpRequest) -> bool:
    expected = str(rules.conf("RECEIPT_TOKEN", "") or "")
    given = request.headers.get("X-Qingquan-Receipt-Token", "") or request.GET.get("token", "")
    return bool(expected) and hmac.compare_digest(given, expected)


def _when(text: str) -> dt.datetime | None:
    try:
        return dt.datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=clock.SHANGHAI)
    except (TypeError, ValueError):
        return None


@csrf_exempt
@require_POST
def sms_receipts(request: HttpRequest) -> HttpResponse:
    """Alibaba Cloud's SMS receipt push: a JSON list of reports; answers {"code": 0}."""
    if not _allowed(request):
        return JsonResponse({"code": 1, "msg": "forbidden"}, status=403)
    if len(request.body) > MAX_BODY:
        return JsonResponse({"code": 1, "msg": "too large"}, status=413)
    try:
        rows = json.loads(request.body)
    except ValueError:
        return JsonResponse({"code": 1, "msg": "not JSON"}, status=400)
    if isinstance(rows, dict):
        rows = [rows]
    if not isinstance(rows, list):
        return JsonResponse({"code": 1, "msg": "a list of reports"}, status=400)
    receipts = [
        ReceiptIn(
            message_id=str(r.get("out_id") or ""),
            provider_ref=str(r.get("biz_id") or ""),
            delivered=bool(r.get("success")),
            error="" if r.get("success") else str(r.get("err_code") or r.get("err_msg") or ""),
            at=_when(str(r.get("report_time") or "")),
        )
        for r in rows
        if isinstance(r, dict)
    ]
    receipts_record(receipts)
    return JsonResponse({"code": 0, "msg": "成功"})


@csrf_exempt
@require_POST
def wechat_receipts(request: HttpRequest) -> HttpResponse:
    """WeChat's TEMPLATESENDJOBFINISH event (XML); answers "success"."""
    if not _allowed(request):
        return HttpResponse("forbidden", status=403)
    if len(request.body) > MAX_BODY or b"<!DOCTYPE" in request.body or b"<!ENTITY" in request.body:
        return HttpResponse("bad request", status=400)
    try:
        root = ET.fromstring(request.body)  # noqa: S314 (no DTD: refused above)
    except ET.ParseError:
        return HttpResponse("bad request", status=400)
    if (root.findtext("Event") or "") == "TEMPLATESENDJOBFINISH":
        status = root.findtext("Status") or ""
        receipts_record(
            [
                ReceiptIn(
                    provider_ref=(root.findtext("MsgID") or "").strip(),
                    delivered=status == "success",
                    error="" if status == "success" else status,
                )
            ]
        )
    return HttpResponse("success", content_type="text/plain")


def _reply_id(r: dict[str, Any]) -> str:
    """The gateway's id of a reply (SmsUp's sequence_id); without one, a digest of the
    number, time and text (a repeated push of the same reply is still recorded once)."""
    given = str(r.get("sequence_id") or "").strip()
    if given:
        return given[:80]
    raw = "|".join(str(r.get(k) or "") for k in ("phone_number", "send_time", "content"))
    return "h:" + hashlib.sha256(raw.encode()).hexdigest()[:40]


@csrf_exempt
@require_POST
def sms_replies(request: HttpRequest) -> HttpResponse:
    """Alibaba Cloud's push of customers' replies (SmsUp: a JSON list with sequence_id,
    phone_number, content and send_time): each recorded once and handled (退订, a
    callback's answer, or a contact for an agent: `messaging.inbound`)."""
    if not _allowed(request):
        return JsonResponse({"code": 1, "msg": "forbidden"}, status=403)
    if len(request.body) > MAX_BODY:
        return JsonResponse({"code": 1, "msg": "too large"}, status=413)
    try:
        rows = json.loads(request.body)
    except ValueError:
        return JsonResponse({"code": 1, "msg": "not JSON"}, status=400)
    for r in rows if isinstance(rows, list) else [rows]:
        if not isinstance(r, dict) or not str(r.get("content") or "").strip():
            continue
        arrived = Arrived(
            channel="sms",
            provider_id=_reply_id(r),
            sender=str(r.get("phone_number") or "")[:20],
            text=str(r.get("content")),
            at=_when(str(r.get("send_time") or "")),
        )
        try:
            inbound_receive(message=arrived)
        except InboxError:  # not a number: nothing to record, nothing to retry
            continue
    return JsonResponse({"code": 0, "msg": "成功"})


@require("console.use")
def inbox(request: HttpRequest) -> HttpResponse:
    """The messages inbox: replies and messages from the public waiting for an agent."""
    return render(
        request,
        "messaging/inbox.html",
        {
            "waiting": selectors.inbox(user=request.user),
            "answered": selectors.inbox(user=request.user, answered=True, limit=20),
            "feeds": selectors.poll_status(user=request.user),
        },
    )


@require("console.use")
@require_POST
def inbox_poll(request: HttpRequest) -> HttpResponse:
    """Take the new Weibo and Alipay messages now (the worker does it every minute)."""
    from qingquan.messaging.poller import poll_all

    done = poll_all()
    taken = sum(p.taken for p in done)
    failed = [p for p in done if p.error]
    for p in failed:
        messages.error(
            request, _("%(feed)s did not answer: %(e)s") % {"feed": p.feed, "e": p.error}
        )
    if not failed:
        messages.success(request, _("%(n)d new messages.") % {"n": taken})
    return redirect("messaging:inbox")


@require("console.use")
@require_POST
def inbox_answer(request: HttpRequest, pk: int) -> HttpResponse:
    """Answer one message (the text goes out on its channel) or mark it as needing none."""
    item = selectors.inbox_items(user=request.user).filter(pk=pk).first()
    if item is None:
        raise Http404
    text = "" if request.POST.get("none") == "1" else request.POST.get("answer", "")
    if not text.strip() and request.POST.get("none") != "1":
        messages.error(request, _("Write an answer, or choose “No answer needed”."))
        return redirect("messaging:inbox")
    try:
        inbound_answer(actor=request.user, inbound=item, text=text)
    except InboxError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Answered.") if text.strip() else _("Marked as done."))
    return redirect("messaging:inbox")
