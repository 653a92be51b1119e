"""Back-office pages of online payments: refunds (ask, approve or reject), the daily
reconciliation with its differences, and the paper-invoice parcels to dispatch."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from qingquan.core import clock
from qingquan.customers.models import PaperInvoiceStatus
from qingquan.payments import paper, refunds, selectors
from qingquan.payments.models import PaymentOrder, Provider, RefundStatus
from qingquan.payments.reconcile import reconcile
from qingquan.payments.services import PaymentError
from qingquan.staff.access import can, require


def _errors(request: HttpRequest, exc: PaymentError) -> None:
    for text in exc.messages:
        messages.error(request, text)


@require("payments.view")
def refund_list(request: HttpRequest) -> HttpResponse:
    """The refunds, newest first; the back office asks for one from an order number."""
    status = request.GET.get("status", "")
    order = None
    number = request.GET.get("order", "").strip()[:32]
    if number:
        order = PaymentOrder.objects.filter(out_trade_no=number).first()
        if order is None:
            messages.error(request, _("No order %(n)s.") % {"n": number})
    page = Paginator(selectors.refunds_for(user=request.user, status=status), 50).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "payments/staff/refunds.html",
        {
            "page": page,
            "status": status,
            "statuses": RefundStatus.choices,
            "order": order,
            "left": refunds.refundable(order) if order else None,
            "can_request": can(request.user, "payments.refund_request"),
        },
    )


@require("payments.refund_request")
@require_POST
def refund_new(request: HttpRequest) -> HttpResponse:
    order = PaymentOrder.objects.filter(out_trade_no=request.POST.get("order", "")[:32]).first()
    if order is None:
        raise Http404
    try:
        refund = refunds.refund_request(
            actor=request.user,
            order=order,
            amount=request.POST.get("amount", ""),
            reason=request.POST.get("reason", "")[:200],
        )
    except PaymentError as exc:
        _errors(request, exc)
        return redirect(f"/payments/staff/refunds/?order={order.out_trade_no}")
    messages.success(request, _("Refund %(n)s waits for approval.") % {"n": refund.out_refund_no})
    return redirect("payments:refund", pk=refund.pk)


@require("payments.view")
def refund_detail(request: HttpRequest, pk: int) -> HttpResponse:
    refund = selectors.refund_for(user=request.user, pk=pk)
    return render(
        request,
        "payments/staff/refund.html",
        {
            "refund": refund,
            "order": selectors.order_for(user=request.user, out_trade_no=refund.order.out_trade_no),
            "can_decide": can(request.user, "payments.refund_approve")
            and refund.requested_by_id != request.user.pk
            and refund.status == RefundStatus.REQUESTED,
        },
    )


@require("payments.refund_approve")
@require_POST
def refund_decide(request: HttpRequest, pk: int) -> HttpResponse:
    """Approve (sent to the provider; the sandbox's notify follows at once) or reject."""
    refund = selectors.refund_for(user=request.user, pk=pk)
    note = request.POST.get("note", "")[:200]
    try:
        if request.POST.get("decision") == "approve":
            refund = refunds.refund_approve(actor=request.user, refund=refund, note=note)
            refunds.sandbox_refund_notify(refund)
            messages.success(request, _("Refund approved and sent to the provider."))
        else:
            refunds.refund_reject(actor=request.user, refund=refund, note=note)
            messages.success(request, _("Refund rejected."))
    except PaymentError as exc:
        _errors(request, exc)
    return redirect("payments:refund", pk=refund.pk)


@require("payments.view")
def reconciliation_list(request: HttpRequest) -> HttpResponse:
    runs = selectors.reconciliations_for(user=request.user).prefetch_related("differences")
    return render(
        request,
        "payments/staff/reconciliations.html",
        {
            "runs": list(runs[:60]),
            "providers": Provider.choices,
            "yesterday": clock.today() - dt.timedelta(days=1),
            "can_run": can(request.user, "payments.reconcile"),
        },
    )


@require("payments.reconcile")
@require_POST
def reconciliation_run(request: HttpRequest) -> HttpResponse:
    try:
        day = dt.date.fromisoformat(request.POST.get("day", "")[:10])
    except ValueError:
        messages.error(request, _("Give the day as YYYY-MM-DD."))
        return redirect("payments:reconciliations")
    name = request.POST.get("provider", "")
    if name not in Provider.values:
        raise Http404
    try:
        run = reconcile(actor=request.user, provider_name=name, day=day)
    except PaymentError as exc:
        _errors(request, exc)
        return redirect("payments:reconciliations")
    return redirect("payments:reconciliation", pk=run.pk)


@require("payments.view")
def reconciliation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = selectors.reconciliation_for(user=request.user, pk=pk)
    return render(
        request,
        "payments/staff/reconciliation.html",
        {"run": run, "differences": list(run.differences.all())},
    )


@require("payments.view")
def parcel_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    status = status if status in PaperInvoiceStatus.values else ""
    page = Paginator(selectors.parcels_for(user=request.user, status=status), 50).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "payments/staff/parcels.html",
        {
            "page": page,
            "status": status,
            "statuses": PaperInvoiceStatus.choices,
            "can_dispatch": can(request.user, "billing.manage"),
        },
    )


@require("billing.manage")
@require_POST
def parcel_advance(request: HttpRequest, pk: int) -> HttpResponse:
    parcel = selectors.parcels_for(user=request.user).filter(pk=pk).first()
    if parcel is None:
        raise Http404
    try:
        paper.paper_advance(
            actor=request.user,
            parcel=parcel,
            courier=request.POST.get("courier", "")[:40],
            tracking_no=request.POST.get("tracking_no", "")[:40],
        )
        messages.success(request, _("Parcel updated."))
    except PaymentError as exc:
        _errors(request, exc)
    return redirect("payments:parcels")
