"""Reads of the online service hall: everything is found through the resident's own
bindings and cases, so another customer's id is simply not found (404)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from qingquan.customers.models import Account, Bill, BillStatus
from qingquan.portal.models import Binding, CaseLink, RepairPhoto, Resident

BILL_MONTHS = 24


def bindings_of(resident: Resident) -> QuerySet[Binding]:
    return Binding.objects.filter(resident=resident).select_related(
        "account__premise", "account__customer", "account__tariff"
    )


def account_ids(resident: Resident) -> list[int]:
    return list(Binding.objects.filter(resident=resident).values_list("account_id", flat=True))


def account_of(resident: Resident, pk: int) -> Account:
    binding = bindings_of(resident).filter(account_id=pk).first()
    if binding is None:
        raise Http404
    return binding.account


def bills_of(account: Account, months: int = BILL_MONTHS) -> list[Bill]:
    return list(
        Bill.objects.filter(account=account)
        .with_paid()
        .select_related("invoice")
        .prefetch_related("lines")
        .order_by("-period_end", "-pk")[:months]
    )


def open_bills(resident: Resident, *, account_id: int | None = None) -> list[Bill]:
    ids = account_ids(resident)
    if account_id is not None:
        ids = [i for i in ids if i == account_id]
    return list(
        Bill.objects.filter(account_id__in=ids)
        .open()
        .with_paid()
        .select_related("account")
        .order_by("period_end", "pk")
    )


def bill_of(resident: Resident, pk: int) -> Bill:
    bill = (
        Bill.objects.filter(pk=pk, account_id__in=account_ids(resident))
        .with_paid()
        .select_related("account__customer", "account__premise")
        .first()
    )
    if bill is None:
        raise Http404
    return bill


@dataclass
class AccountCard:
    binding: Binding
    owed: Decimal
    open_count: int


def home_cards(resident: Resident) -> list[AccountCard]:
    bindings = list(bindings_of(resident))
    owed: dict[int, Decimal] = {}
    counts: dict[int, int] = {}
    for bill in Bill.objects.filter(
        account_id__in=[b.account_id for b in bindings],
        status__in=[BillStatus.UNPAID, BillStatus.PARTIALLY_PAID],
    ).with_paid():
        owed[bill.account_id] = owed.get(bill.account_id, Decimal("0.00")) + bill.outstanding
        counts[bill.account_id] = counts.get(bill.account_id, 0) + 1
    return [
        AccountCard(b, owed.get(b.account_id, Decimal("0.00")), counts.get(b.account_id, 0))
        for b in bindings
    ]


def cases_of(resident: Resident) -> Any:
    from qingquan.tickets.models import Ticket

    linked = CaseLink.objects.filter(resident=resident).values("ticket_id")
    return (
        Ticket.objects.filter(Q(pk__in=linked) | Q(account_id__in=account_ids(resident)))
        .select_related("kind")
        .order_by("-created_at")
    )


def case_of(resident: Resident, number: str) -> Any:
    ticket = cases_of(resident).filter(number=number[:16]).first()
    if ticket is None:
        raise Http404
    return ticket


def photo_of(resident: Resident, pk: int) -> RepairPhoto:
    photo = RepairPhoto.objects.filter(pk=pk, resident=resident).first()
    if photo is None:
        raise Http404
    return photo


def interruptions_of(resident: Resident) -> list[Any]:
    from qingquan.notices.selectors import active_for

    ids = account_ids(resident)
    premises = list(
        Account.objects.filter(pk__in=ids).values_list("premise_id", flat=True).distinct()
    )
    if not premises:
        return []
    return active_for(premise_ids=premises, account_ids=ids)


def subscribed_premises(resident: Resident) -> set[int]:
    from qingquan.notices.models import Subscription

    return set(
        Subscription.objects.filter(channel="sms", address=resident.phone).values_list(
            "premise_id", flat=True
        )
    )


def survey_link(ticket: Any) -> str:
    """The callback survey of a resolved case, if one is open (the public survey page,
    signed and used once), else ""."""
    from qingquan.surveys.models import CallbackTask
    from qingquan.surveys.services import survey_url

    task = (
        CallbackTask.objects.filter(ticket=ticket, status=CallbackTask.Status.OPEN)
        .order_by("-created_at")
        .first()
    )
    return survey_url(task) if task is not None else ""


def customer_notes(ticket: Any) -> list[Any]:
    """The notes staff wrote on the case for the customer to see (never internal ones)."""
    from qingquan.console.models import CaseNote, Visibility

    return list(
        CaseNote.objects.filter(ticket=ticket, visibility=Visibility.CUSTOMER).order_by(
            "created_at", "pk"
        )
    )
