"""Works fees (R-CON-4): the fee table (no application or handling fee, no item without
a service behind it), the quote from the survey, the contract acknowledged by the
applicant, payment by QR through `payments`, and the notify that resumes the clock."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from qingquan.connections.models import (
    FORBIDDEN_FEES,
    Application,
    ClockPause,
    FeeItem,
    PauseReason,
    Quote,
    QuoteLine,
)
from qingquan.connections.services.base import NotOwner, Refused, audit, entry, lock
from qingquan.connections.services.steps import _owner_check, _pause, _resume, current_step
from qingquan.core import actors, clock
from qingquan.core.actors import system
from qingquan.core.audit import audit_record, snapshot
from qingquan.core.sla import SHANGHAI
from qingquan.core.validation import clean_text
from qingquan.staff.access import check

PAYMENTS = system("payments")
FEE_FIELDS = ["code", "name", "kind", "service", "unit", "unit_price", "is_active"]


def fee_refusal(item: FeeItem) -> str:
    """Why the fee table refuses `item` ("" when it may be charged)."""
    if item.kind in FORBIDDEN_FEES:
        return _("%(name)s: no application or handling fee may be charged (R-CON-4).") % {
            "name": item.name
        }
    if not (item.service or "").strip():
        return _("%(name)s: a fee with no service behind it may not be charged (R-CON-4).") % {
            "name": item.name
        }
    return ""


def fee_item_save(*, actor: Any, item: FeeItem) -> FeeItem:
    """Add or change a line of the fee table (administrators), refused with a clear
    message for an application or handling fee or an item with no service."""
    check(actor, "connections.configure")
    reason = fee_refusal(item)
    if reason:
        raise Refused(reason, field="kind")
    try:
        item.full_clean()
    except ValidationError as exc:
        raise Refused("; ".join(exc.messages)) from None
    with transaction.atomic():
        before = None
        if item.pk:
            old = FeeItem.objects.filter(pk=item.pk).first()
            before = snapshot(old, FEE_FIELDS) if old else None
        item.save()
        audit_record(
            actor=actor,
            action="connections.fee_item",
            obj=item,
            before=before,
            after=snapshot(item, FEE_FIELDS),
        )
    return item


def _quantity(value: Any) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise Refused(_("A quantity must be a number."), field="lines") from None
    if not number.is_finite() or number <= 0 or number > 10_000:
        raise Refused(_("A quantity must be more than zero."), field="lines")
    return number.quantize(Decimal("0.01"))


def quote_issue(
    *,
    actor: Any,
    application: Application,
    lines: Sequence[tuple[FeeItem, Any]],
    version: int | None = None,
) -> Quote:
    """The works-fee quote from the survey (the step's owner): each line from the fee
    table; refused whole for any forbidden item. The applicant's turn follows: the clock
    pauses for the budget review and the contract signing."""
    check(actor, "connections.work")
    if not lines:
        raise Refused(_("A quote needs at least one line of the fee table."), field="lines")
    priced = []
    for item, quantity in lines:
        reason = fee_refusal(item) or (
            "" if item.is_active else _("%(n)s is no longer offered.") % {"n": item}
        )
        if reason:
            raise Refused(reason, field="lines")
        qty = _quantity(quantity)
        priced.append((item, qty, (item.unit_price * qty).quantize(Decimal("0.01"))))
    total = sum((amount for _i, _q, amount in priced), Decimal("0.00"))
    with transaction.atomic():
        app = lock(application, version)
        _owner_check(actor, current_step(app))
        if Quote.objects.filter(application=app).exists():
            raise Refused(_("This application has a quote already."))
        quote = Quote.objects.create(application=app, total=total, created_at=clock.now())
        QuoteLine.objects.bulk_create(
            [
                QuoteLine(
                    quote=quote,
                    item=item,
                    name=item.name,
                    service=item.service,
                    quantity=qty,
                    unit_price=item.unit_price,
                    amount=amount,
                )
                for item, qty, amount in priced
            ]
        )
        entry(app, "quote", _("Works fees quoted: %(t)s yuan.") % {"t": total}, actor=actor)
        audit(actor, "quote", app, total=str(total), lines=len(priced))
        _pause(actor, app, PauseReason.CONTRACT, _("Quote of %(t)s yuan sent") % {"t": total})
    return quote


def contract_acknowledge(
    *,
    actor: Any,
    application: Application,
    signer: str,
    provider_name: str = "wechat",
    version: int | None = None,
) -> Quote:
    """The applicant acknowledges the contract (a record with time and signer); the
    clock waits on the payment next, and the QR payment order is made."""
    from qingquan.payments.services import PaymentError, order_create_amount

    check(actor, "connections.work")
    signer = clean_text(signer, field=_("signer"), max_length=60)
    if not signer:
        raise Refused(_("Give the name of the person who signs."), field="signer")
    with transaction.atomic():
        app = lock(application, version)
        _signer_check(actor, app)
        quote = Quote.objects.select_for_update().filter(application=app).first()
        if quote is None:
            raise Refused(_("There is no quote to sign yet."))
        if quote.signed_at is not None:
            raise Refused(_("The contract is signed already."))
        quote.signer = signer
        quote.signed_at = clock.now()
        try:
            order = order_create_amount(
                amount=quote.total,
                provider_name=provider_name,
                description=f"报装工程费 {app.number}",
                resident=app.resident,
            )
        except PaymentError as exc:
            raise Refused(exc.messages[0], field="provider") from None
        quote.order = order
        quote.save(update_fields=["signer", "signed_at", "order"])
        entry(app, "contract", _("Contract acknowledged by %(s)s.") % {"s": signer}, actor=actor)
        audit(actor, "contract", app, signer=signer, order=order.out_trade_no)
        if ClockPause.objects.filter(
            application=app, ended_at__isnull=True, reason=PauseReason.CONTRACT
        ).exists():
            _resume(actor, app, PauseReason.CONTRACT)
        _pause(actor, app, PauseReason.PAYMENT, _("Order %(o)s") % {"o": order.out_trade_no})
    return quote


def _signer_check(actor: Any, app: Application) -> None:
    """The applicant signs through the online hall (the portal acts as the system for its
    own resident), or the manager records a signature made at the counter."""
    if actors.is_system(actor):
        return
    if getattr(actors.user_of(actor), "pk", None) != app.manager_id:
        raise NotOwner(_("Only the application's customer manager records a signature."))


def fee_payment_notified(order: Any) -> None:
    """The payments notify hook: a paid works-fee order marks its quote paid and resumes
    the clock (inside the notify's transaction; a repeat never gets here)."""
    quote = Quote.objects.select_for_update().filter(order=order).first()
    if quote is None or quote.paid_at is not None:
        return
    quote.paid_at = order.paid_at or clock.now()
    quote.save(update_fields=["paid_at"])
    app = Application.objects.select_for_update().get(pk=quote.application_id)
    entry(app, "paid", _("Works fee of %(t)s yuan paid.") % {"t": quote.total}, actor=PAYMENTS)
    audit(PAYMENTS, "paid", app, order=order.out_trade_no, amount=str(order.amount))
    if ClockPause.objects.filter(
        application=app, ended_at__isnull=True, reason=PauseReason.PAYMENT
    ).exists():
        _resume(PAYMENTS, app, PauseReason.PAYMENT)


def contract_pdf(quote: Quote) -> bytes:
    """The works contract as a PDF (Chinese, CJK fonts), with the acknowledgement."""
    from weasyprint import HTML

    app = quote.application
    context = {
        "app": app,
        "quote": quote,
        "lines": list(quote.lines.all()),
        "signed": quote.signed_at.astimezone(SHANGHAI) if quote.signed_at else None,
        "quoted": quote.created_at.astimezone(SHANGHAI),
    }
    with translation.override("zh-hans"):
        html = render_to_string("connections/contract_pdf.html", context)
    pdf = HTML(string=html).write_pdf()
    assert pdf is not None
    return bytes(pdf)
