"""Reads of the open APIs. A partner client sees only the cases it brought in, and a
customer's data only after proving an account number and a phone number belong together.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from qingquan.customers import phones, privacy
from qingquan.customers.models import Account
from qingquan.customers.selectors import balances, bill_view, recent_bills
from qingquan.partners.errors import NotFound
from qingquan.partners.models import PartnerCase, PartnerClient
from qingquan.tickets.models import OPEN_STATES, CaseKind, Contact, Ticket, TicketEvent

OPEN = OPEN_STATES


def cases_of(client: PartnerClient) -> QuerySet[PartnerCase]:
    """The client's cases, newest first."""
    return (
        PartnerCase.objects.filter(client=client)
        .select_related("ticket", "ticket__kind", "ticket__kind__parent", "ticket__department")
        .order_by("-ticket__created_at", "-id")
    )


def case_of(client: PartnerClient, number: str) -> PartnerCase:
    """One of the client's cases; NotFound for any other number (even an existing one)."""
    partner_case = cases_of(client).filter(ticket__number=number).first()
    if partner_case is None:
        raise NotFound(_("No case %(number)s of this client.") % {"number": number})
    return partner_case


def customer_notes(ticket: Ticket) -> list[TicketEvent]:
    """The customer-visible entries of a case's timeline."""
    entries = ticket.events.filter(visibility=TicketEvent.Visibility.CUSTOMER)
    return list(entries.order_by("at", "id"))


def contacts_of(client: PartnerClient, partner_case: PartnerCase) -> list[Contact]:
    """The contacts of the case that came in on the client's channel (what it sent)."""
    return list(
        partner_case.ticket.contacts.filter(channel=client.channel).order_by("started_at", "id")
    )


def intake_kinds() -> list[CaseKind]:
    """Active case kinds, parents before their sub-kinds."""
    kinds = list(CaseKind.objects.filter(is_active=True).select_related("parent"))
    ordered: list[CaseKind] = []
    for parent in (k for k in kinds if k.parent_id is None):
        ordered.append(parent)
        ordered.extend(k for k in kinds if k.parent_id == parent.pk)
    return ordered


def _verified(account_number: str, phone: str) -> Account:
    """The account if `phone` is one of its customer's numbers; NotFound otherwise (the
    answer never tells which of the two did not match)."""
    refused = NotFound(_("No account matches this account number and phone number."))
    normal = phones.try_normalise(phone)
    if normal is None:
        raise refused
    account = (
        Account.objects.select_related("customer", "premise")
        .filter(number=(account_number or "").strip())
        .first()
    )
    if account is None or not account.customer.phones.filter(national_digits=normal[1]).exists():
        raise refused
    return account


def verified_account(*, account_number: str, phone: str) -> dict[str, Any]:
    account = _verified(account_number, phone)
    owed = balances([account.pk])[account.pk]
    return {
        "account_number": account.number,
        # A partner is no staff role: the name always masked, by the one masking rule.
        "customer_name": privacy.mask(account.customer.name, privacy.Kind.NAME),
        "address": account.premise.address,
        "status": account.status,
        "balance": str(owed),
    }


def verified_bills(*, account_number: str, phone: str) -> list[dict[str, Any]]:
    account = _verified(account_number, phone)
    result = []
    for bill in recent_bills([account.pk])[account.pk]:
        view = bill_view(bill)
        result.append(
            {
                "period_start": view.period_start,
                "period_end": view.period_end,
                "volume": str(view.volume),
                "total": str(view.total),
                "paid": str(view.paid),
                "outstanding": str(view.outstanding),
                "status": view.status,
                "due_date": view.due_date,
            }
        )
    return result
