"""Electronic invoices (电子发票) of paid bills and paper copies by courier (R-CH-3)."""

from __future__ import annotations

import hashlib
import hmac
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from qingquan.core import clock
from qingquan.core.audit import audit_record, snapshot
from qingquan.customers import phones
from qingquan.customers.models import (
    Bill,
    BillStatus,
    Invoice,
    PaperInvoiceRequest,
    PaperInvoiceStatus,
)

# Couriered paper invoices are free for organisations (R-CH-3); persons pay the postage.
PAPER_INVOICE_FEE_PERSON = Decimal("10.00")


def _verification_code(number: str) -> str:
    """20 digits derived from the number with the site's secret: checkable, not guessable."""
    digest = hmac.new(settings.SECRET_KEY.encode(), number.encode(), hashlib.sha256).hexdigest()
    return str(int(digest, 16))[-20:]


@transaction.atomic
def invoice_issue(*, actor: Any, bill: Bill) -> Invoice:
    """Issue the electronic invoice (电子发票) of a paid bill; one per bill."""
    bill = Bill.objects.select_for_update().select_related("account__customer").get(pk=bill.pk)
    if bill.status != BillStatus.PAID:
        raise ValidationError(_("Only a paid bill gets an invoice."))
    if bill.total <= 0:
        raise ValidationError(_("A bill of zero needs no invoice."))
    existing = Invoice.objects.filter(bill=bill).first()
    if existing is not None:
        raise ValidationError(_("Invoice %(n)s was already issued.") % {"n": existing.number})
    now = clock.now()
    # 20 digits like a fully digital invoice number: year, Ningbo's code, the bill's id.
    number = f"{clock.today():%y}330200{bill.pk:012d}"
    customer = bill.account.customer
    invoice = Invoice.objects.create(
        bill=bill,
        number=number,
        verification_code=_verification_code(number),
        payer_name=customer.name,
        payer_tax_id=customer.uscc,
        amount=bill.total,
        issued_at=now,
    )
    audit_record(
        actor=actor,
        action="customers.invoice.issue",
        obj=invoice,
        after=snapshot(invoice, ["bill", "number", "payer_name", "amount"]),
    )
    return invoice


@transaction.atomic
def paper_invoice_request(
    *, actor: Any, invoice: Invoice, recipient: str, phone: str, address: str
) -> PaperInvoiceRequest:
    """Ask for a paper copy by courier; free for organisations, postage for persons."""
    if not recipient.strip() or not address.strip():
        raise ValidationError(_("A courier needs a recipient and an address."))
    e164, _digits = phones.normalise(phone)
    customer = invoice.bill.account.customer
    request = PaperInvoiceRequest.objects.create(
        invoice=invoice,
        recipient=recipient.strip(),
        phone=e164,
        address=address.strip(),
        fee=Decimal("0.00") if customer.is_organisation else PAPER_INVOICE_FEE_PERSON,
        requested_at=clock.now(),
    )
    audit_record(
        actor=actor,
        action="customers.paper_invoice.request",
        obj=request,
        after=snapshot(request, ["invoice", "recipient", "address", "fee"]),
    )
    return request


_PAPER_NEXT = {
    PaperInvoiceStatus.REQUESTED: PaperInvoiceStatus.DISPATCHED,
    PaperInvoiceStatus.DISPATCHED: PaperInvoiceStatus.DELIVERED,
}


@transaction.atomic
def paper_invoice_advance(
    *, actor: Any, request: PaperInvoiceRequest, tracking_no: str = ""
) -> PaperInvoiceRequest:
    """Move a paper request on: requested → dispatched (needs the tracking number) →
    delivered."""
    request = PaperInvoiceRequest.objects.select_for_update().get(pk=request.pk)
    before = request.status
    target = _PAPER_NEXT.get(PaperInvoiceStatus(before))
    if target is None:
        raise ValidationError(_("The invoice was already delivered."))
    now = clock.now()
    if target == PaperInvoiceStatus.DISPATCHED:
        if not tracking_no.strip():
            raise ValidationError(_("A dispatched invoice needs its tracking number."))
        request.tracking_no = tracking_no.strip()
        request.dispatched_at = now
    else:
        request.delivered_at = now
    request.status = target
    request.save()
    audit_record(
        actor=actor,
        action="customers.paper_invoice.advance",
        obj=request,
        before={"status": before},
        after={"status": target, "tracking_no": request.tracking_no},
    )
    return request
