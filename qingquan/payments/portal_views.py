"""The online hall's paper-invoice page (R-CH-3): ask for the paper invoices of paid
bills by courier, and follow the parcels. Under /portal/ so the portal's own login
cookie applies; bills are found only through the resident's bindings."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from qingquan.payments import paper, selectors
from qingquan.payments.services import PaymentError
from qingquan.portal import auth
from qingquan.portal import selectors as portal_selectors


@auth.resident_required
def paper_invoices(request: HttpRequest) -> HttpResponse:
    resident = request.resident  # type: ignore[attr-defined]
    paid = selectors.paid_bills_of(resident)
    form = {
        "recipient": request.POST.get("recipient", "")[:60],
        "phone": request.POST.get("phone", "")[:20] or resident.phone,
        "address": request.POST.get("address", "")[:255],
    }
    chosen: set[int] = set()
    if request.method == "POST":
        chosen = {int(v) for v in request.POST.getlist("bill") if v.isdigit() and len(v) < 19}
        bills = [portal_selectors.bill_of(resident, pk) for pk in sorted(chosen)]
        try:
            paper.paper_request(resident=resident, bills=bills, **form)
        except PaymentError as exc:
            for text in exc.messages:
                messages.error(request, text)
        else:
            messages.success(
                request, _("Your paper invoices will be sent by courier. Follow them here.")
            )
            return redirect("portal_paper:list")
    postage = paper.postage(paid) if paid else None
    return render(
        request,
        "payments/portal_paper.html",
        {
            "paid": paid,
            "chosen": chosen,
            "form": form,
            "parcels": selectors.parcels_of(resident),
            "free": postage is not None and postage == 0,
            "postage": postage,
        },
        status=400 if request.method == "POST" else 200,
    )
