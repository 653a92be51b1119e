"""Reads of online payments for staff (each page checks its capability first) and for the
portal (a resident's own parcels and paid bills only)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from qingquan.customers.models import Bill, BillStatus
from qingquan.payments.models import (
    PaperDelivery,
    PaymentOrder,
    Reconciliation,
    Refund,
    RefundStatus,
)
from qingquan.staff.access import check


def refunds_for(*, user: Any, status: str = "") -> QuerySet[Refund]:
    check(user, "payments.view")
    rows = Refund.objects.select_related("order", "requested_by", "decided_by")
    if status in RefundStatus.values:
        rows = rows.filter(status=status)
    return rows


def refund_for(*, user: Any, pk: int) -> Refund:
    refund = refunds_for(user=user).filter(pk=pk).first()
    if refund is None:
        raise Http404
    return refund


def order_for(*, user: Any, out_trade_no: str) -> PaymentOrder:
    check(user, "payments.view")
    order = (
        PaymentOrder.objects.filter(out_trade_no=out_trade_no.strip()[:32])
        .prefetch_related("lines__bill__account", "refunds")
        .first()
    )
    if order is None:
        raise Http404
    return order


def reconciliations_for(*, user: Any) -> QuerySet[Reconciliation]:
    check(user, "payments.view")
    return Reconciliation.objects.all()


def reconciliation_for(*, user: Any, pk: int) -> Reconciliation:
    run = reconciliations_for(user=user).filter(pk=pk).first()
    if run is None:
        raise Http404
    return run


def parcels_for(*, user: Any, status: str = "") -> QuerySet[PaperDelivery]:
    check(user, "payments.view")
    rows = PaperDelivery.objects.prefetch_related("requests__invoice__bill__account")
    return rows.filter(status=status) if status else rows


def parcels_of(resident: Any) -> list[PaperDelivery]:
    return list(
        PaperDelivery.objects.filter(resident=resident).prefetch_related(
            "requests__invoice__bill__account"
        )[:20]
    )


def paid_bills_of(resident: Any, months: int = 24) -> list[Bill]:
    """The resident's paid bills of their bound accounts (newest first)."""
    from qingquan.portal.selectors import account_ids

    return list(
        Bill.objects.filter(account_id__in=account_ids(resident), status=BillStatus.PAID)
        .select_related("account__customer")
        .order_by("-period_end", "pk")[: months * 3]
    )
