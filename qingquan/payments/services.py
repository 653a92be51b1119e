"""Writes of online payments: an order for one or all open bills of a resident's bound
accounts, and the provider's notify, which records one payment per bill exactly once.

A notify is verified (signature), matched to its order by out_trade_no, checked to the
fen against the order, and idempotent: the order row is locked, and a repeated notify of
a paid order records nothing. No fee is ever added to a payment."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from qingquan.core import clock
from qingquan.core.actors import system
from qingquan.core.audit import audit_record
from qingquan.core.db import fastinsert
from qingquan.customers.models import Bill, BillStatus
from qingquan.customers.services import payment_record
from qingquan.payments.models import NotifyLog, OrderBill, OrderStatus, PaymentOrder, Provider
from qingquan.payments.providers import NotifyRejected, ProviderError, RefundNotified, provider

ACTOR = system("payments")


class PaymentError(ValidationError):
    pass


# What other apps do when an order for a sum that is no bill (`order_create_amount`) is
# paid (connections: the works fee resumes the clock): each hook gets the order inside
# the notify's transaction, once per order.
paid_hooks: list[Callable[[PaymentOrder], None]] = []


def _out_trade_no() -> str:
    now = clock.now()
    return f"QQ{now:%Y%m%d%H%M%S}{secrets.token_hex(6).upper()}"


def order_create(
    *,
    resident: Any,
    bills: Sequence[Bill],
    provider_name: str,
    agent: Any = None,
    openid: str = "",
) -> PaymentOrder:
    """An order for `bills` (already checked to be the resident's, or shown by `agent` on
    the console), each for what is still owed on it; refused for a paid or cancelled bill
    and for an unknown provider. With `openid` (inside WeChat) it is a JSAPI order: the
    signed JS parameters are on `order.js_params`."""
    if provider_name not in Provider.values:
        raise PaymentError(_("Choose WeChat Pay or Alipay."))
    if not bills:
        raise PaymentError(_("Nothing to pay."))
    with transaction.atomic():
        locked = list(
            Bill.objects.select_for_update().filter(pk__in=[b.pk for b in bills]).order_by("pk")
        )
        lines = []
        for bill in locked:
            if bill.status not in (BillStatus.UNPAID, BillStatus.PARTIALLY_PAID):
                raise PaymentError(_("Bill %(b)s has nothing left to pay.") % {"b": bill})
            owed = bill.outstanding
            if owed <= 0:
                raise PaymentError(_("Bill %(b)s has nothing left to pay.") % {"b": bill})
            lines.append((bill, owed))
        total = sum((owed for _b, owed in lines), Decimal("0.00"))
        order = PaymentOrder.objects.create(
            out_trade_no=_out_trade_no(),
            provider=provider_name,
            resident=resident,
            agent=agent,
            trade_type="jsapi" if openid else "native",
            amount=total,
            created_at=clock.now(),
        )
        OrderBill.objects.bulk_create(
            [OrderBill(order=order, bill=bill, amount=owed) for bill, owed in lines]
        )
        names = ", ".join(f"{b.period_start:%Y-%m}" for b, _o in lines)
        chosen = provider(provider_name)
        try:
            if openid:
                checkout = chosen.jsapi(order, openid=openid, description=f"水费 {names}")
            else:
                checkout = chosen.checkout(order, description=f"水费 {names}")
        except ProviderError as exc:
            raise PaymentError(_("The provider refused: %(m)s") % {"m": str(exc)[:200]}) from exc
        order.code_url = checkout.code_url[:300]
        order.save(update_fields=["code_url"])
        order.js_params = checkout.js_params  # type: ignore[attr-defined]
        audit_record(
            actor=agent or ACTOR,
            action="payments.order.create",
            obj=order,
            after={
                "amount": str(total),
                "bills": [b.pk for b, _o in lines],
                "type": order.trade_type,
            },
        )
    return order


def order_create_amount(
    *, amount: Decimal, provider_name: str, description: str, resident: Any = None
) -> PaymentOrder:
    """An order for a sum that is not a bill (a works fee): the caller keeps what it
    pays for and learns of the payment through `paid_hooks`."""
    if provider_name not in Provider.values:
        raise PaymentError(_("Choose WeChat Pay or Alipay."))
    if amount <= 0:
        raise PaymentError(_("Nothing to pay."))
    with transaction.atomic():
        order = PaymentOrder.objects.create(
            out_trade_no=_out_trade_no(),
            provider=provider_name,
            resident=resident,
            amount=amount,
            created_at=clock.now(),
        )
        checkout = provider(provider_name).checkout(order, description=description[:100])
        order.code_url = checkout.code_url[:300]
        order.save(update_fields=["code_url"])
        audit_record(
            actor=ACTOR,
            action="payments.order.create",
            obj=order,
            after={"amount": str(amount), "for": description[:100]},
        )
    return order


@dataclass(frozen=True)
class NotifyAnswer:
    status: int
    outcome: str


def log_notify(name: str, verified: bool, out_trade_no: str, outcome: str, body: bytes) -> None:
    """One row of the notify log (append-only, listened to by nobody: one precompiled
    INSERT, core.db.fastinsert)."""
    fastinsert.create(
        NotifyLog(
            provider=name,
            received_at=clock.now(),
            verified=verified,
            out_trade_no=out_trade_no[:32],
            outcome=outcome,
            body=body[:4000].decode(errors="replace"),
        )
    )


def notify_handle(*, provider_name: str, headers: dict[str, str], body: bytes) -> NotifyAnswer:
    """Receive a provider's notify: verify it, then mark its order paid and record one
    payment per bill (once; a repeat answers success and writes nothing but its log)."""
    try:
        notified = provider(provider_name).verify_notify(headers, body)
    except (NotifyRejected, KeyError):
        log_notify(provider_name, False, "", "rejected", body)
        return NotifyAnswer(401, "rejected")
    if isinstance(notified, RefundNotified):
        from qingquan.payments.refunds import refund_notified

        return refund_notified(provider_name=provider_name, notified=notified, body=body)
    with transaction.atomic():
        order = (
            PaymentOrder.objects.select_for_update()
            .filter(out_trade_no=notified.out_trade_no, provider=provider_name)
            .first()
        )
        if order is None:
            log_notify(provider_name, True, notified.out_trade_no, "unknown order", body)
            return NotifyAnswer(404, "unknown order")
        order.notifies += 1
        if order.status in (OrderStatus.PAID, OrderStatus.REFUNDED):
            order.save(update_fields=["notifies"])
            log_notify(provider_name, True, order.out_trade_no, "repeat", body)
            return NotifyAnswer(200, "repeat")
        if not notified.success:
            order.save(update_fields=["notifies"])
            log_notify(provider_name, True, order.out_trade_no, "not paid", body)
            return NotifyAnswer(200, "not paid")
        if notified.amount_fen != order.amount_fen:
            order.save(update_fields=["notifies"])
            log_notify(provider_name, True, order.out_trade_no, "amount mismatch", body)
            return NotifyAnswer(400, "amount mismatch")
        now = clock.now()
        short = Decimal("0.00")
        lines = list(order.lines.select_related("bill").order_by("bill_id"))
        for line in lines:
            try:
                # Its own savepoint: a refused payment leaves nothing behind.
                payment_record(
                    actor=ACTOR,
                    bill=line.bill,
                    amount=line.amount,
                    channel=provider_name,
                    paid_at=now,
                    reference=f"{order.out_trade_no}-{line.bill_id}",
                )
            except ValidationError:
                # Paid meanwhile elsewhere (a counter): the money is kept on the order
                # for a refund by the back office, never lost and never booked twice.
                short += line.amount
        order.status = OrderStatus.PAID
        order.paid_at = now
        order.transaction_id = notified.transaction_id[:64]
        order.save(update_fields=["status", "paid_at", "transaction_id", "notifies"])
        if not lines:  # an order for a sum: its owner learns of the payment
            for hook in paid_hooks:
                hook(order)
        audit_record(
            actor=ACTOR,
            action="payments.order.paid",
            obj=order,
            after={"transaction_id": order.transaction_id, "amount": str(order.amount)},
        )
        outcome = "paid" if not short else f"paid, {short} to refund"
        log_notify(provider_name, True, order.out_trade_no, outcome, body)
    return NotifyAnswer(200, outcome)
