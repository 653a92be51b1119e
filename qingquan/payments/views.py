"""The notify endpoint of each provider (no session, no CSRF: the signature is the
check) and the sandbox cashier (never in production)."""

from __future__ import annotations

import json

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from qingquan.customers.invoices import qr_data_uri
from qingquan.payments import services
from qingquan.payments.models import OrderStatus, PaymentOrder, Provider
from qingquan.payments.providers import SandboxProvider


@csrf_exempt
@require_POST
def notify(request: HttpRequest, provider: str) -> HttpResponse:
    if provider not in Provider.values:
        raise Http404
    headers = {k: v for k, v in request.headers.items()}
    answer = services.notify_handle(provider_name=provider, headers=headers, body=request.body)
    if provider == Provider.ALIPAY:
        return HttpResponse("success" if answer.status == 200 else "fail", status=answer.status)
    if answer.status == 200:
        return HttpResponse(status=204)
    return JsonResponse({"code": "FAIL", "message": answer.outcome}, status=answer.status)


def _sandbox_order(out_trade_no: str) -> PaymentOrder:
    if settings.QINGQUAN_ENV == "production":
        raise Http404
    return get_object_or_404(PaymentOrder, out_trade_no=out_trade_no[:32])


def sandbox_cashier(request: HttpRequest, out_trade_no: str) -> HttpResponse:
    """The sandbox's cashier: the QR code a phone would scan and a button that pays."""
    order = _sandbox_order(out_trade_no)
    if request.method == "POST":
        sandbox = SandboxProvider(order.provider)
        headers, body = sandbox.charge(order)
        services.notify_handle(provider_name=order.provider, headers=headers, body=body)
        back = request.POST.get("next", "")
        if back.startswith("/portal/"):
            return redirect(back)
        return redirect("payments:sandbox", out_trade_no=order.out_trade_no)
    return render(
        request,
        "payments/sandbox.html",
        {
            "order": order,
            "paid": order.status == OrderStatus.PAID,
            "qr": qr_data_uri(request.build_absolute_uri()),
            "next": request.GET.get("next", ""),
            "payload": json.dumps({"out_trade_no": order.out_trade_no}),
        },
    )
