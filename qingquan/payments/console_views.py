"""The agent console's payment QR (scan to pay): the agent picks open bills of the
caller's account, the platform makes an order and shows its QR code (drawn on the
server), and the page follows the order until the provider's notify marks it paid."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from qingquan.customers.invoices import qr_data_uri
from qingquan.customers.models import Account, Bill
from qingquan.payments.models import OrderStatus, PaymentOrder, Provider
from qingquan.payments.services import PaymentError, order_create
from qingquan.staff.access import check, require


@require("console.use")
def console_pay(request: HttpRequest, account_id: int) -> HttpResponse:
    """GET: the account's open bills to choose; POST: the QR code of an order for them."""
    check(request.user, "customers.view")
    account = get_object_or_404(Account.objects.select_related("customer"), pk=account_id)
    open_bills = list(Bill.objects.filter(account=account).open().with_paid().order_by("pk"))
    order = None
    if request.method == "POST":
        ids = {int(v) for v in request.POST.getlist("bill") if v.isdigit() and len(v) < 19}
        chosen = [b for b in open_bills if b.pk in ids]
        try:
            if len(chosen) != len(ids):
                raise PaymentError("")
            order = order_create(
                resident=None,
                bills=chosen,
                provider_name=request.POST.get("provider", ""),
                agent=request.user,
            )
        except PaymentError as exc:
            for text in [m for m in exc.messages if m] or [_nothing()]:
                messages.error(request, text)
    return render(
        request,
        "payments/console_pay.html",
        {
            "account": account,
            "bills": open_bills,
            "providers": Provider.choices,
            "order": order,
            "qr": qr_data_uri(_scan_link(request, order)) if order else "",
            "scan": _scan_link(request, order) if order else "",
        },
        status=200 if order or request.method == "GET" else 400,
    )


def _nothing() -> str:
    from django.utils.translation import gettext as _

    return _("Choose the open bills of this account.")


def _scan_link(request: HttpRequest, order: PaymentOrder | None) -> str:
    """What the phone scans: the provider's link, or the sandbox cashier's full URL."""
    if order is None:
        return ""
    if order.code_url.startswith("/"):
        return request.build_absolute_uri(order.code_url)
    return order.code_url


@require("console.use")
def console_order(request: HttpRequest, out_trade_no: str) -> HttpResponse:
    """The order's status (polled by the QR page); only orders shown on the console."""
    order = PaymentOrder.objects.filter(out_trade_no=out_trade_no[:32], agent__isnull=False).first()
    if order is None:
        raise Http404
    return render(
        request,
        "payments/_console_status.html",
        {"order": order, "paid": order.status == OrderStatus.PAID},
    )
