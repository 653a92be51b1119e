"""The day's reconciliation: our paid orders and refunds of a day against the provider's
statement file (WeChat Pay's trade bill layout: a header line, one line per charge or
refund with every field prefixed by a backtick, then the summary lines).

Each difference is listed: a charge or refund the provider has and we do not (a notify
that never reached us), one we have and the statement lacks, and one whose amounts
differ. A run is kept with the statement as received; running a day again adds a run."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from qingquan.core import clock
from qingquan.core.audit import audit_record
from qingquan.payments.models import (
    Difference,
    DifferenceKind,
    OrderStatus,
    PaymentOrder,
    Reconciliation,
    Refund,
    RefundStatus,
)
from qingquan.payments.providers import ProviderError, provider
from qingquan.payments.services import PaymentError
from qingquan.staff.access import check


@dataclass(frozen=True)
class Line:
    """A charge (refund_no "") or a refund of the statement or of our records."""

    out_trade_no: str
    out_refund_no: str
    transaction_id: str
    amount: Decimal

    @property
    def key(self) -> tuple[str, str]:
        return (self.out_trade_no, self.out_refund_no)


def parse_statement(text: str) -> list[Line]:
    """The lines of a trade bill (bad layout → PaymentError, nothing recorded)."""
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    if not rows or "商户订单号" not in rows[0]:
        raise PaymentError(_("This is not a trade bill: its header is missing."))
    head = [h.strip() for h in rows[0]]
    col = {name: head.index(name) for name in head}
    needed = ["商户订单号", "微信订单号", "交易状态", "应结订单金额", "商户退款单号", "退款金额"]
    if any(n not in col for n in needed):
        raise PaymentError(_("This is not a trade bill: a column is missing."))
    lines = []
    for row in rows[1:]:
        if row and row[0].startswith("总交易单数"):
            break
        if not row or len(row) < len(head):
            continue
        value = {n: row[col[n]].strip().lstrip("`") for n in needed}
        refund = value["交易状态"] == "REFUND"
        try:
            amount = Decimal(value["退款金额"] if refund else value["应结订单金额"])
        except InvalidOperation as exc:
            raise PaymentError(_("A line of the trade bill has a wrong amount.")) from exc
        lines.append(
            Line(
                out_trade_no=value["商户订单号"],
                out_refund_no=value["商户退款单号"] if refund else "",
                transaction_id=value["微信订单号"],
                amount=amount,
            )
        )
    return lines


def ours(provider_name: str, day: dt.date) -> list[Line]:
    """Our charges (orders paid) and refunds (refunds done) of the day, China time."""
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(day, dt.time.min, tzinfo=tz)
    end = start + dt.timedelta(days=1)
    paid = PaymentOrder.objects.filter(
        provider=provider_name,
        status__in=[OrderStatus.PAID, OrderStatus.REFUNDED],
        paid_at__gte=start,
        paid_at__lt=end,
    )
    refunds = Refund.objects.filter(
        order__provider=provider_name,
        status=RefundStatus.SUCCEEDED,
        refunded_at__gte=start,
        refunded_at__lt=end,
    ).select_related("order")
    return [Line(o.out_trade_no, "", o.transaction_id, o.amount) for o in paid] + [
        Line(r.order.out_trade_no, r.out_refund_no, r.refund_id, r.amount) for r in refunds
    ]


def compare(our_lines: list[Line], their_lines: list[Line]) -> list[Difference]:
    """The differences, unsaved, in the order of the keys."""
    mine = {line.key: line for line in our_lines}
    theirs = {line.key: line for line in their_lines}
    found = []
    for key in sorted(set(mine) | set(theirs)):
        a, b = mine.get(key), theirs.get(key)
        if a is not None and b is not None and a.amount == b.amount:
            continue
        known = b or a
        assert known is not None
        kind = (
            DifferenceKind.MISSING_OURS
            if a is None
            else DifferenceKind.MISSING_THEIRS
            if b is None
            else DifferenceKind.AMOUNT
        )
        found.append(
            Difference(
                kind=kind,
                out_trade_no=key[0],
                out_refund_no=key[1],
                transaction_id=known.transaction_id[:64],
                ours=a.amount if a else None,
                theirs=b.amount if b else None,
            )
        )
    return found


def _net(lines: list[Line]) -> Decimal:
    return sum(
        (-line.amount if line.out_refund_no else line.amount for line in lines), Decimal("0.00")
    )


def reconcile(
    *, actor: Any, provider_name: str, day: dt.date, statement: str | None = None
) -> Reconciliation:
    """Reconcile `day` for a provider: its statement (fetched from the provider unless
    given) against our records; the run and its differences are saved."""
    check(actor, "payments.reconcile")
    if day >= clock.today():
        raise PaymentError(_("A day is reconciled once it is over."))
    if statement is None:
        try:
            statement = provider(provider_name).statement(day)
        except (ProviderError, KeyError) as exc:
            raise PaymentError(_("No statement: %(m)s") % {"m": str(exc)[:200]}) from exc
    theirs = parse_statement(statement)
    mine = ours(provider_name, day)
    with transaction.atomic():
        run = Reconciliation.objects.create(
            provider=provider_name,
            day=day,
            ran_at=clock.now(),
            ours_count=len(mine),
            ours_total=_net(mine),
            theirs_count=len(theirs),
            theirs_total=_net(theirs),
            statement=statement,
        )
        differences = compare(mine, theirs)
        for diff in differences:
            diff.reconciliation = run
        Difference.objects.bulk_create(differences)
        audit_record(
            actor=actor,
            action="payments.reconcile",
            obj=run,
            after={"differences": len(differences), "ours": run.ours_count},
        )
    return run
