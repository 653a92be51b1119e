"""The customer API: lookup (screen pop), a customer's record, an account's bills, and
the e-invoice PDF. Mounted at /api/v1/customers/."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema
from ninja.errors import HttpError
from pydantic import Field

from qingquan.core.schemas import schema_of
from qingquan.customers import invoices, selectors
from qingquan.customers.models import Account, Customer, Invoice
from qingquan.staff.access import check

router: Router = Router(tags=["customers"])


PhoneOut = schema_of(selectors.PhoneView, "PhoneOut")
BillSummaryOut = schema_of(selectors.BillView, "BillSummaryOut")
AccountOut = schema_of(selectors.AccountView, "AccountOut", bills=BillSummaryOut)
CustomerOut = schema_of(selectors.CustomerView, "CustomerOut", phones=PhoneOut, accounts=AccountOut)


class LookupIn(Schema):
    q: str = Field(..., min_length=1, max_length=100, description="phone, account or address")
    limit: int = Field(20, ge=1, le=100)


class LineOut(Schema):
    kind: str
    tier: int | None
    start: dt.date
    end: dt.date
    volume: Decimal
    unit_price: Decimal
    amount: Decimal


class BillOut(BillSummaryOut):  # type: ignore[misc,valid-type]
    previous_reading: Decimal
    current_reading: Decimal
    water_amount: Decimal
    sewage_amount: Decimal
    last_year_volume: Decimal | None
    change_percent: Decimal | None
    invoice_id: int | None
    lines: list[LineOut]


@router.get("/lookup", response=list[CustomerOut], summary="Find customers (screen pop)")  # type: ignore[valid-type]
def lookup(request: HttpRequest, params: Query[LookupIn]) -> list[selectors.CustomerView]:
    """Customers by phone (any common form), account number, or part of an address."""
    check(request.user, "customers.view")
    return selectors.customer_lookup(user=request.user, query=params.q, limit=params.limit)


@router.get("/{customer_id}", response=CustomerOut, summary="One customer")
def customer(request: HttpRequest, customer_id: int) -> selectors.CustomerView:
    """A customer with accounts, balances and the last 12 bills of each account."""
    check(request.user, "customers.view")
    try:
        return selectors.customer_record(user=request.user, customer_id=customer_id).view
    except Customer.DoesNotExist as exc:
        raise HttpError(404, f"No customer {customer_id}.") from exc


@router.get("/accounts/{number}/bills", response=list[BillOut], summary="The bills of an account")
def account_bills(request: HttpRequest, number: str) -> list[dict[str, Any]]:
    """An account's bills of the last three years, newest first, with their tier lines and
    the same period last year ("why is it so high")."""
    check(request.user, "customers.view")
    account = Account.objects.filter(number=number).first()
    if account is None:
        raise HttpError(404, f"No account {number}.")
    record = selectors.customer_record(user=request.user, customer_id=account.customer_id)
    bills = record.bills[account.pk]
    result = []
    for bill in bills:
        why = selectors.explain(bill, bills)
        summary = selectors.bill_view(bill)
        result.append(
            {
                **summary.__dict__,
                "previous_reading": bill.previous_reading,
                "current_reading": bill.current_reading,
                "water_amount": bill.water_amount,
                "sewage_amount": bill.sewage_amount,
                "last_year_volume": why.last_year_volume,
                "change_percent": why.change_percent,
                "invoice_id": getattr(bill, "invoice_pk", None),
                "lines": list(bill.lines.all()),
            }
        )
    return result


@router.get("/invoices/{invoice_id}/pdf", summary="E-invoice PDF")
def invoice_pdf(request: HttpRequest, invoice_id: int) -> HttpResponse:
    """The electronic invoice as a PDF file."""
    check(request.user, "customers.view")
    try:
        invoice = selectors.invoice_for(user=request.user, invoice_id=invoice_id)
    except Invoice.DoesNotExist as exc:
        raise HttpError(404, f"No invoice {invoice_id}.") from exc
    response = HttpResponse(
        invoices.invoice_pdf(invoice, request.user), content_type="application/pdf"
    )
    response["Content-Disposition"] = f'attachment; filename="invoice-{invoice.number}.pdf"'
    return response
