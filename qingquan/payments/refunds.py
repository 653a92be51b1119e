"""Refunds by the back office, with approval (R-CH-1).

A back-office member asks for a refund of a paid order (an amount up to what is left of
it, and a reason); a supervisor who is not the one who asked approves it, and the refund
is then sent to the provider, or rejects it with a note. The provider's refund notify is
verified like a payment notify and is idempotent (a repeat records nothing); once the
money is back, the bills the order paid follow: the money the order held without paying
a bill (a bill paid meanwhile at a counter) is given back first, then the bills' online
payments in bill order, each with a negative payment row."""

from __future__ import annotations

import secrets
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from qingquan.core import clock
from qingquan.core.access import AccessDenied
from qingquan.core.actors import system
from qingquan.core.audit import audit_record
from qingquan.customers.models import Invoice, Payment
from qingquan.customers.services import payment_refund
from qingquan.payments.models import OrderStatus, PaymentOrder, Refund, RefundStatus
from qingquan.payments.providers import ProviderError, RefundNotified, provider
from qingquan.payments.services import NotifyAnswer, PaymentError, log_notify
from qingquan.staff.access import check

ACTOR = system("payments")
LIVE = [RefundStatus.REQUESTED, RefundStatus.PROCESSING, RefundStatus.SUCCEEDED]


def _amount(value: Any) -> Decimal:
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise PaymentError(_("Give the amount in yuan, e.g. 12.50.")) from exc
    if not amount.is_finite() or amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        raise PaymentError(_("Give the amount in yuan, e.g. 12.50."))
    return amount


def refundable(order: PaymentOrder, *, excluding: Refund | None = None) -> Decimal:
    """What is left to refund on `order`: its amount less the refunds asked, sent or done."""
    asked = order.refunds.filter(status__in=LIVE)
    if excluding is not None:
        asked = asked.exclude(pk=excluding.pk)
    return order.amount - (asked.aggregate(s=Sum("amount"))["s"] or Decimal("0.00"))


def _bookings(order: PaymentOrder) -> list[Payment]:
    refs = [f"{order.out_trade_no}-{line.bill_id}" for line in order.lines.all()]
    return list(
        Payment.objects.filter(channel=order.provider, reference__in=refs, amount__gt=0)
        .select_related("bill")
        .order_by("bill_id")
    )


def _net(payment: Payment) -> Decimal:
    back = Payment.objects.filter(
        bill_id=payment.bill_id,
        channel=payment.channel,
        reference=payment.reference,
        amount__lt=0,
    ).aggregate(s=Sum("amount"))["s"] or Decimal("0.00")
    return payment.amount + back


def _allocation(order: PaymentOrder, amount: Decimal) -> list[tuple[Payment | None, Decimal]]:
    """Where `amount` comes back from: (None, part) for money the order held without
    paying a bill, then (payment, part) for its bills' payments in bill order."""
    bookings = _bookings(order)
    held = order.amount - sum((p.amount for p in bookings), Decimal("0.00"))
    done = order.refunds.filter(status=RefundStatus.SUCCEEDED).aggregate(s=Sum("amount"))["s"]
    held_left = max(held - (done or Decimal("0.00")), Decimal("0.00"))
    parts: list[tuple[Payment | None, Decimal]] = []
    left = amount
    if held_left > 0:
        take = min(left, held_left)
        parts.append((None, take))
        left -= take
    for payment in bookings:
        if left <= 0:
            break
        take = min(left, _net(payment))
        if take > 0:
            parts.append((payment, take))
            left -= take
    return parts


def refund_request(*, actor: Any, order: PaymentOrder, amount: Any, reason: str) -> Refund:
    """Ask for a refund of a paid order (back office): at most what is left of it, with a
    reason; refused where a bill it gives back on has an e-invoice (void it first)."""
    check(actor, "payments.refund_request")
    value = _amount(amount)
    reason = (reason or "").strip()
    if not reason:
        raise PaymentError(_("Say why the money is refunded."))
    with transaction.atomic():
        order = PaymentOrder.objects.select_for_update().get(pk=order.pk)
        if order.status not in (OrderStatus.PAID, OrderStatus.REFUNDED):
            raise PaymentError(_("Only a paid order can be refunded."))
        left = refundable(order)
        if value > left:
            raise PaymentError(
                _("%(a)s is more than the %(l)s left to refund on this order.")
                % {"a": value, "l": left}
            )
        for payment, _part in _allocation(order, value):
            if payment is not None and Invoice.objects.filter(bill=payment.bill_id).exists():
                raise PaymentError(
                    _("Bill %(b)s has an e-invoice: void it before refunding.")
                    % {"b": payment.bill}
                )
        refund = Refund.objects.create(
            out_refund_no=f"RF{clock.now():%Y%m%d%H%M%S}{secrets.token_hex(6).upper()}",
            order=order,
            amount=value,
            reason=reason[:200],
            requested_by=actor,
            requested_at=clock.now(),
        )
        audit_record(
            actor=actor,
            action="payments.refund.request",
            obj=refund,
            after={"order": order.out_trade_no, "amount": str(value), "reason": reason[:200]},
        )
    return refund


def refund_approve(*, actor: Any, refund: Refund, note: str = "") -> Refund:
    """Approve a refund (a supervisor, never the one who asked) and send it to the
    provider; a provider's refusal leaves it waiting, with the provider's message."""
    check(actor, "payments.refund_approve")
    with transaction.atomic():
        refund = Refund.objects.select_for_update().select_related("order").get(pk=refund.pk)
        if refund.requested_by_id == actor.pk:
            raise AccessDenied(_("You asked for this refund: another supervisor approves it."))
        if refund.status != RefundStatus.REQUESTED:
            raise PaymentError(_("This refund was already decided."))
        PaymentOrder.objects.select_for_update().get(pk=refund.order_id)
        if refund.amount > refundable(refund.order, excluding=refund):
            raise PaymentError(_("The order has less left to refund than this refund."))
        refund.status = RefundStatus.PROCESSING
        refund.decided_by = actor
        refund.decided_at = clock.now()
        refund.decision_note = note.strip()[:200]
        try:
            accepted = provider(refund.order.provider).refund(refund)
        except ProviderError as exc:
            raise PaymentError(_("The provider refused: %(m)s") % {"m": str(exc)[:200]}) from exc
        refund.refund_id = accepted.refund_id[:64]
        refund.save()
        audit_record(
            actor=actor,
            action="payments.refund.approve",
            obj=refund,
            before={"status": RefundStatus.REQUESTED},
            after={"status": refund.status, "refund_id": refund.refund_id},
            note=refund.decision_note,
        )
        if accepted.done:
            _book(refund)
    return refund


def refund_reject(*, actor: Any, refund: Refund, note: str) -> Refund:
    """Reject a refund with a note (a supervisor, never the one who asked)."""
    check(actor, "payments.refund_approve")
    if not (note or "").strip():
        raise PaymentError(_("Say why the refund is rejected."))
    with transaction.atomic():
        refund = Refund.objects.select_for_update().get(pk=refund.pk)
        if refund.requested_by_id == actor.pk:
            raise AccessDenied(_("You asked for this refund: another supervisor decides."))
        if refund.status != RefundStatus.REQUESTED:
            raise PaymentError(_("This refund was already decided."))
        refund.status = RefundStatus.REJECTED
        refund.decided_by = actor
        refund.decided_at = clock.now()
        refund.decision_note = note.strip()[:200]
        refund.save()
        audit_record(
            actor=actor,
            action="payments.refund.reject",
            obj=refund,
            after={"status": refund.status},
            note=refund.decision_note,
        )
    return refund


def _book(refund: Refund) -> None:
    """The money is back: give it back on the bills and close the order if all of it
    went back (inside the caller's transaction, the refund row locked)."""
    order = PaymentOrder.objects.select_for_update().get(pk=refund.order_id)
    reason = _("Online refund %(n)s: %(r)s") % {"n": refund.out_refund_no, "r": refund.reason}
    for payment, part in _allocation(order, refund.amount):
        if payment is not None:
            payment_refund(actor=ACTOR, payment=payment, amount=part, reason=reason)
    refund.status = RefundStatus.SUCCEEDED
    refund.refunded_at = clock.now()
    refund.save(update_fields=["status", "refunded_at", "notifies", "refund_id"])
    done = order.refunds.filter(status=RefundStatus.SUCCEEDED).aggregate(s=Sum("amount"))["s"]
    if done == order.amount:
        order.status = OrderStatus.REFUNDED
        order.save(update_fields=["status"])
    audit_record(
        actor=ACTOR,
        action="payments.refund.done",
        obj=refund,
        after={"amount": str(refund.amount), "order": order.out_trade_no},
    )


def refund_notified(*, provider_name: str, notified: RefundNotified, body: bytes) -> NotifyAnswer:
    """A verified refund notify: the refund is done (once), or failed."""
    with transaction.atomic():
        refund = (
            Refund.objects.select_for_update()
            .filter(
                out_refund_no=notified.out_refund_no,
                order__out_trade_no=notified.out_trade_no,
                order__provider=provider_name,
            )
            .first()
        )
        if refund is None:
            log_notify(provider_name, True, notified.out_trade_no, "unknown refund", body)
            return NotifyAnswer(404, "unknown refund")
        refund.notifies += 1
        outcome = "refund repeat"
        status = 200
        if refund.status != RefundStatus.PROCESSING:
            refund.save(update_fields=["notifies"])
        elif notified.amount_fen != refund.amount_fen:
            refund.save(update_fields=["notifies"])
            outcome, status = "refund amount mismatch", 400
        elif not notified.success:
            refund.status = RefundStatus.FAILED
            refund.save(update_fields=["status", "notifies"])
            audit_record(actor=ACTOR, action="payments.refund.failed", obj=refund)
            outcome = "refund failed"
        else:
            refund.refund_id = notified.refund_id[:64] or refund.refund_id
            _book(refund)
            outcome = "refunded"
        log_notify(provider_name, True, notified.out_trade_no, outcome, body)
    return NotifyAnswer(status, outcome)


def sandbox_refund_notify(refund: Refund) -> None:
    """The sandbox posts its refund notify at once (a real provider calls us later);
    it goes through the same verification as any notify."""
    from qingquan.payments.providers import SandboxProvider
    from qingquan.payments.services import notify_handle

    chosen = provider(refund.order.provider)
    if isinstance(chosen, SandboxProvider) and refund.status == RefundStatus.PROCESSING:
        headers, body = chosen.refund_notify_for(refund)
        notify_handle(provider_name=chosen.name, headers=headers, body=body)
