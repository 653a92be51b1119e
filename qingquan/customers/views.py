"""Staff pages: the customer search (full page and HTMX fragment), a customer's record,
and invoice downloads and issuing."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from qingquan.customers import invoices, selectors, services
from qingquan.customers.models import Bill, Customer, Invoice
from qingquan.staff.access import can, require

MAX_QUERY = 100


@require("customers.view")
def search(request: HttpRequest) -> HttpResponse:
    """Search by phone, account number or address; HTMX asks for the results only."""
    query = request.GET.get("q", "").strip()[:MAX_QUERY]
    results = selectors.customer_lookup(user=request.user, query=query) if query else []
    context: dict[str, Any] = {"query": query, "results": results}
    if getattr(request, "htmx", False):
        return render(request, "customers/_results.html", context)
    return render(request, "customers/search.html", context)


@require("customers.view")
def detail(request: HttpRequest, customer_id: int) -> HttpResponse:
    """A customer's accounts, balance, bills with their tier breakdown, payments, invoices."""
    try:
        record = selectors.customer_record(user=request.user, customer_id=customer_id)
    except Customer.DoesNotExist as exc:
        raise Http404(_("No such customer.")) from exc
    accounts = []
    for account in record.view.accounts:
        bills = record.bills[account.id]
        accounts.append(
            {
                "view": account,
                "bills": [selectors.explain(b, bills) for b in bills],
                "payments": record.payments[account.id],
                "meters": record.meters[account.id],
            }
        )
    return render(
        request,
        "customers/detail.html",
        {
            "record": record,
            "customer": record.view,
            "accounts": accounts,
            "invoices": record.invoices,
            "can_bill": can(request.user, "billing.manage"),
        },
    )


@require("customers.view")
def invoice_download(request: HttpRequest, invoice_id: int) -> HttpResponse:
    """The e-invoice PDF, rendered from the invoice record."""
    try:
        invoice = selectors.invoice_for(user=request.user, invoice_id=invoice_id)
    except Invoice.DoesNotExist as exc:
        raise Http404(_("No such invoice.")) from exc
    response = HttpResponse(
        invoices.invoice_pdf(invoice, request.user), content_type="application/pdf"
    )
    response["Content-Disposition"] = f'attachment; filename="invoice-{invoice.number}.pdf"'
    return response


@require_POST
@require("billing.manage")
def invoice_issue(request: HttpRequest, bill_id: int) -> HttpResponse:
    """Issue the e-invoice of a paid bill from the customer page."""
    bill = get_object_or_404(Bill.objects.select_related("account"), pk=bill_id)
    try:
        invoice = services.invoice_issue(actor=request.user, bill=bill)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Invoice %(n)s issued.") % {"n": invoice.number})
    return redirect("customers:detail", customer_id=bill.account.customer_id)
