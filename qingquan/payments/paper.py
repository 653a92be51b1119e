"""Paper invoices by courier from the online hall (R-CH-3): a resident asks for the paper
invoices of paid bills in one parcel to an address; the back office records the courier
and the tracking number, then the delivery; the resident follows it in the portal.

Each invoice of the parcel is a `customers.PaperInvoiceRequest` (the back office's
existing record), moved on together. Nothing is ever added to a bill or a payment: the
parcel is free for enterprises, and for households the courier's postage is paid to the
courier on delivery."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from qingquan.core import clock
from qingquan.core.actors import system
from qingquan.core.audit import audit_record
from qingquan.customers import phones
from qingquan.customers.models import (
    Bill,
    BillStatus,
    Invoice,
    PaperInvoiceRequest,
    PaperInvoiceStatus,
)
from qingquan.customers.services import (
    PAPER_INVOICE_FEE_PERSON,
    invoice_issue,
    paper_invoice_advance,
    paper_invoice_request,
)
from qingquan.payments.models import PaperDelivery
from qingquan.payments.services import PaymentError
from qingquan.staff.access import check

ACTOR = system("portal")
MAX_BILLS = 24


def postage(bills: Sequence[Bill]) -> Decimal:
    """What the courier collects on delivery: nothing when every bill is an
    enterprise's (R-CH-3), else the households' postage (never added to a bill)."""
    if all(b.account.customer.is_organisation for b in bills):
        return Decimal("0.00")
    return PAPER_INVOICE_FEE_PERSON


def paper_request(
    *, resident: Any, bills: Sequence[Bill], recipient: str, phone: str, address: str
) -> PaperDelivery:
    """One parcel with the paper invoices of `bills` (already checked to be the
    resident's, all paid); the e-invoice is issued first where it was not yet."""
    recipient, address = (recipient or "").strip(), (address or "").strip()
    if not bills:
        raise PaymentError(_("Choose the paid bills whose invoices you want."))
    if len(bills) > MAX_BILLS:
        raise PaymentError(_("At most %(n)s invoices in one parcel.") % {"n": MAX_BILLS})
    if not recipient or len(recipient) > 60 or not address or len(address) > 255:
        raise PaymentError(_("A courier needs a recipient and an address."))
    try:
        e164, _digits = phones.normalise(phone)
    except ValidationError as exc:
        raise PaymentError(_("Enter a valid phone number for the courier.")) from exc
    with transaction.atomic():
        requests = []
        for bill in sorted(bills, key=lambda b: b.pk):
            bill = Bill.objects.select_related("account__customer").get(pk=bill.pk)
            if bill.status != BillStatus.PAID:
                raise PaymentError(_("Bill %(b)s is not paid yet.") % {"b": bill})
            invoice = Invoice.objects.filter(bill=bill).first() or invoice_issue(
                actor=ACTOR, bill=bill
            )
            pending = PaperInvoiceRequest.objects.filter(invoice=invoice).exclude(
                status=PaperInvoiceStatus.DELIVERED
            )
            if pending.exists():
                raise PaymentError(
                    _("The paper invoice of bill %(b)s is already on its way.") % {"b": bill}
                )
            requests.append(
                paper_invoice_request(
                    actor=ACTOR, invoice=invoice, recipient=recipient, phone=e164, address=address
                )
            )
        parcel = PaperDelivery.objects.create(
            resident=resident,
            recipient=recipient,
            phone=e164,
            address=address,
            requested_at=clock.now(),
        )
        parcel.requests.set(requests)
        audit_record(
            actor=ACTOR,
            action="payments.paper.request",
            obj=parcel,
            after={"invoices": [r.invoice_id for r in requests]},
        )
    return parcel


def paper_advance(
    *, actor: Any, parcel: PaperDelivery, courier: str = "", tracking_no: str = ""
) -> PaperDelivery:
    """Back office: requested → dispatched (with the courier and tracking number) →
    delivered; each invoice's request moves on with the parcel."""
    check(actor, "billing.manage")
    courier, tracking_no = (courier or "").strip(), (tracking_no or "").strip()
    with transaction.atomic():
        parcel = PaperDelivery.objects.select_for_update().get(pk=parcel.pk)
        before = parcel.status
        now = clock.now()
        if before == PaperInvoiceStatus.REQUESTED:
            if not courier or not tracking_no or len(courier) > 40 or len(tracking_no) > 40:
                raise PaymentError(_("A dispatched parcel needs its courier and tracking number."))
            parcel.status = PaperInvoiceStatus.DISPATCHED
            parcel.courier, parcel.tracking_no, parcel.dispatched_at = courier, tracking_no, now
        elif before == PaperInvoiceStatus.DISPATCHED:
            parcel.status = PaperInvoiceStatus.DELIVERED
            parcel.delivered_at = now
        else:
            raise PaymentError(_("The parcel was already delivered."))
        for request in parcel.requests.filter(status=before):
            paper_invoice_advance(actor=actor, request=request, tracking_no=parcel.tracking_no)
        parcel.save()
        audit_record(
            actor=actor,
            action="payments.paper.advance",
            obj=parcel,
            before={"status": before},
            after={"status": parcel.status, "courier": courier, "tracking_no": tracking_no},
        )
    return parcel
