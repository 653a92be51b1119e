"""Paying bills inside WeChat (JSAPI): the portal opened in WeChat's browser learns the
payer's openid through WeChat's OAuth redirect (`portal.wechat`), orders a JSAPI
payment (`payments.order_create` with the openid) and hands the signed parameters to
WeixinJSBridge (`portal/wxpay.js`); the provider's notify marks the bills paid, and the
order's page says so. Bills and orders are found through the resident's own bindings."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from qingquan.portal import auth, rules, selectors, wechat
from qingquan.portal.services import PortalError

STATE_SALT = "portal.wx-state"


def _bills(request: HttpRequest, resident: Any) -> list[Any]:
    source = request.POST if request.method == "POST" else request.GET
    ids = {int(v) for v in source.getlist("bill") if v.isdigit() and len(v) < 19}
    return [selectors.bill_of(resident, pk) for pk in sorted(ids)]


def _to_oauth(request: HttpRequest, resident: Any) -> HttpResponse:
    """Off to WeChat for the openid; the state (in a cookie too) brings us back here.
    A page that moves on by itself (meta refresh, and a link) rather than a redirect: a
    form's submission may only be redirected to our own origin (CSP form-action)."""
    state = secrets.token_urlsafe(16)
    back = request.build_absolute_uri(reverse("portal:wxpay_oauth"))
    url = wechat.authorize_url(redirect_uri=back, state=state)
    response = render(request, "portal/wxpay.html", {"oauth": url})
    value = signing.dumps(
        {"s": state, "r": resident.pk, "next": request.get_full_path()}, salt=STATE_SALT
    )
    response.set_cookie(
        wechat.STATE_COOKIE,
        value,
        max_age=600,
        path=rules.COOKIE_PATH,
        secure=request.is_secure(),
        httponly=True,
        samesite="Lax",
    )
    return response


@auth.resident_required
def oauth_back(request: HttpRequest) -> HttpResponse:
    """WeChat sends the browser back with a code and our state: the code is exchanged
    for the openid (once), remembered for this resident, and the payment page goes on."""
    resident = request.resident  # type: ignore[attr-defined]
    try:
        saved = signing.loads(
            request.COOKIES.get(wechat.STATE_COOKIE, ""), salt=STATE_SALT, max_age=600
        )
    except signing.BadSignature:
        saved = {}
    given = request.GET.get("state", "")
    if not given or saved.get("s") != given or saved.get("r") != resident.pk:
        return _refused(request, _("This WeChat sign-in is not yours or has expired."))
    try:
        openid = wechat.openid_for_code(request.GET.get("code", ""))
    except PortalError as exc:
        return _refused(request, exc.messages[0])
    target = str(saved.get("next") or "")
    response = redirect(target if target.startswith("/portal/") else "portal:home")
    wechat.remember_openid(response, resident.pk, openid, secure=request.is_secure())
    response.delete_cookie(wechat.STATE_COOKIE, path=rules.COOKIE_PATH)
    return response


def _refused(request: HttpRequest, text: str) -> HttpResponse:
    messages.error(request, text)
    return render(request, "portal/wxpay.html", {"refused": True}, status=400)


@auth.resident_required
def wxpay(request: HttpRequest) -> HttpResponse:
    """GET: the bills to pay and the button; POST: the JSAPI order, whose signed
    parameters the page gives to WeixinJSBridge. Outside WeChat: a hint, no order."""
    from qingquan.payments.services import PaymentError, order_create

    resident = request.resident  # type: ignore[attr-defined]
    bills = _bills(request, resident)
    context: dict[str, Any] = {"bills": bills, "total": sum((b.outstanding for b in bills), 0)}
    if not wechat.in_wechat(request):
        return render(request, "portal/wxpay.html", {**context, "outside": True})
    openid = wechat.openid_of(request, resident.pk)
    if not openid:
        return _to_oauth(request, resident)
    if request.method != "POST":
        return render(request, "portal/wxpay.html", context)
    try:
        order = order_create(resident=resident, bills=bills, provider_name="wechat", openid=openid)
    except PaymentError as exc:
        for text in exc.messages:
            messages.error(request, text)
        return render(request, "portal/wxpay.html", context, status=400)
    done = reverse("portal:wxpay_order", args=[order.out_trade_no])
    return render(
        request,
        "portal/wxpay.html",
        {
            **context,
            "order": order,
            "bridge": {"params": order.js_params, "done": done},  # type: ignore[attr-defined]
        },
    )


@auth.resident_required
def wxpay_order(request: HttpRequest, out_trade_no: str) -> HttpResponse:
    """The order's state after WeChat's cashier closed: paid once the notify came."""
    from qingquan.payments.models import OrderStatus, PaymentOrder

    resident = request.resident  # type: ignore[attr-defined]
    order = PaymentOrder.objects.filter(
        out_trade_no=out_trade_no[:32], resident=resident, trade_type="jsapi"
    ).first()
    if order is None:
        raise Http404
    bills = [line.bill_id for line in order.lines.all()]
    again = f"{reverse('portal:wxpay')}?{urlencode({'bill': bills}, doseq=True)}"
    return render(
        request,
        "portal/wxpay_order.html",
        {"order": order, "paid": order.status == OrderStatus.PAID, "again": again},
    )
