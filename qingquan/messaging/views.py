"""Delivery receipts from the gateways (machine endpoints, a shared token, no session)."""

from __future__ import annotations

import datetime as dt
import hmac
import json
import xml.etree.ElementTree as ET

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from qingquan.core import clock
from qingquan.messaging import rules
from qingquan.messaging.services import ReceiptIn, receipts_record

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


UNSUBSCRIBE_WORDS = {"T", "TD", "N", "退订", "取消"}


@csrf_exempt
@require_POST
def sms_replies(request: HttpRequest) -> HttpResponse:
    """Alibaba Cloud's push of customers' replies (SmsUp: a JSON list with phone_number
    and content): a reply "T" / "TD" / "退订" unsubscribes the number (退订)."""
    from qingquan.core.actors import system
    from qingquan.customers import phones
    from qingquan.messaging.services import optout_set

    if not _allowed(request):
        return JsonResponse({"code": 1, "msg": "forbidden"}, status=403)
    try:
        rows = json.loads(request.body)
    except ValueError:
        return JsonResponse({"code": 1, "msg": "not JSON"}, status=400)
    for r in rows if isinstance(rows, list) else [rows]:
        if not isinstance(r, dict):
            continue
        word = str(r.get("content") or "").strip().upper()
        number = phones.try_normalise(str(r.get("phone_number") or "")[:20])
        if word in UNSUBSCRIBE_WORDS and number:
            optout_set(actor=system("messaging"), channel="sms", address=number[0], how="reply")
    return JsonResponse({"code": 0, "msg": "成功"})
