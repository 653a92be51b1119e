"""Payments API (`/api/v1/payments/`): refunds (list, ask, approve, reject) and the
daily reconciliations with their differences. Refusals: 403 (access; approving one's
own refund), 404, 422 with ``detail``."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status
from ninja.errors import HttpError

from qingquan.payments import refunds, selectors
from qingquan.payments.models import PaymentOrder, Refund
from qingquan.payments.services import PaymentError

router = Router(tags=["payments"])


class RefundOut(Schema):
    id: int
    out_refund_no: str
    out_trade_no: str
    provider: str
    amount: Decimal
    reason: str
    status: str
    requested_by: str
    requested_at: dt.datetime
    decided_by: str | None
    decided_at: dt.datetime | None
    decision_note: str
    refund_id: str
    refunded_at: dt.datetime | None


class RefundIn(Schema):
    out_trade_no: str
    amount: Decimal
    reason: str


class RefundDecisionIn(Schema):
    note: str = ""


class DifferenceOut(Schema):
    kind: str
    out_trade_no: str
    out_refund_no: str
    transaction_id: str
    ours: Decimal | None
    theirs: Decimal | None


class ReconciliationOut(Schema):
    id: int
    provider: str
    day: dt.date
    ran_at: dt.datetime
    ours_count: int
    ours_total: Decimal
    theirs_count: int
    theirs_total: Decimal
    differences: list[DifferenceOut]


def _refund(r: Refund) -> dict[str, Any]:
    return {
        "id": r.pk,
        "out_refund_no": r.out_refund_no,
        "out_trade_no": r.order.out_trade_no,
        "provider": r.order.provider,
        "amount": r.amount,
        "reason": r.reason,
        "status": r.status,
        "requested_by": r.requested_by.username,
        "requested_at": r.requested_at,
        "decided_by": r.decided_by.username if r.decided_by else None,
        "decided_at": r.decided_at,
        "decision_note": r.decision_note,
        "refund_id": r.refund_id,
        "refunded_at": r.refunded_at,
    }


def _refused(exc: PaymentError) -> HttpError:
    return HttpError(422, " ".join(exc.messages))


@router.get("/refunds", response=list[RefundOut], summary="Refunds, newest first")
def refund_list(request: HttpRequest, status: str = "") -> list[dict[str, Any]]:
    return [_refund(r) for r in selectors.refunds_for(user=request.user, status=status)[:200]]


@router.post("/refunds", response={201: RefundOut}, summary="Ask for a refund of a paid order")
def refund_create(request: HttpRequest, payload: RefundIn) -> Status:
    selectors.refunds_for(user=request.user)  # payments.view first
    order = PaymentOrder.objects.filter(out_trade_no=payload.out_trade_no[:32]).first()
    if order is None:
        raise HttpError(404, "no such order")
    try:
        refund = refunds.refund_request(
            actor=request.user, order=order, amount=payload.amount, reason=payload.reason
        )
    except PaymentError as exc:
        raise _refused(exc) from exc
    return Status(201, _refund(refund))


@router.post("/refunds/{refund_id}/approve", response=RefundOut, summary="Approve and send")
def refund_approve(
    request: HttpRequest, refund_id: int, payload: RefundDecisionIn
) -> dict[str, Any]:
    refund = selectors.refund_for(user=request.user, pk=refund_id)
    try:
        refund = refunds.refund_approve(actor=request.user, refund=refund, note=payload.note)
    except PaymentError as exc:
        raise _refused(exc) from exc
    refunds.sandbox_refund_notify(refund)
    refund.refresh_from_db()
    return _refund(refund)


@router.post("/refunds/{refund_id}/reject", response=RefundOut, summary="Reject with a note")
def refund_reject(
    request: HttpRequest, refund_id: int, payload: RefundDecisionIn
) -> dict[str, Any]:
    refund = selectors.refund_for(user=request.user, pk=refund_id)
    try:
        refund = refunds.refund_reject(actor=request.user, refund=refund, note=payload.note)
    except PaymentError as exc:
        raise _refused(exc) from exc
    return _refund(refund)


@router.get("/reconciliations", response=list[ReconciliationOut], summary="Reconciliation runs")
def reconciliation_list(request: HttpRequest, day: dt.date | None = None) -> list[Any]:
    runs = selectors.reconciliations_for(user=request.user).prefetch_related("differences")
    if day is not None:
        runs = runs.filter(day=day)
    return [
        {
            "id": r.pk,
            "provider": r.provider,
            "day": r.day,
            "ran_at": r.ran_at,
            "ours_count": r.ours_count,
            "ours_total": r.ours_total,
            "theirs_count": r.theirs_count,
            "theirs_total": r.theirs_total,
            "differences": list(r.differences.all()),
        }
        for r in runs[:60]
    ]
