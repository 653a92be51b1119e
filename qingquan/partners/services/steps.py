"""A customer's steps on their case through a partner: note, reminder, reopening."""

from __future__ import annotations

from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from qingquan.core import validation
from qingquan.core.actors import PartnerActor
from qingquan.core.audit import audit_record
from qingquan.core.notifications import notify
from qingquan.partners.errors import (
    NotFound,
)
from qingquan.partners.models import (
    PartnerCase,
    PartnerClient,
)
from qingquan.partners.services.intake import _checked
from qingquan.tickets import services as ticket_services
from qingquan.tickets.errors import InvalidInput
from qingquan.tickets.models import Ticket


def _own_case(client: PartnerClient, number: str) -> PartnerCase:
    partner_case = (
        PartnerCase.objects.select_related("ticket", "ticket__kind", "ticket__department")
        .filter(client=client, ticket__number=number)
        .first()
    )
    if partner_case is None:
        raise NotFound(_("No case %(number)s of this client.") % {"number": number})
    return partner_case


def partner_case_note(*, client: PartnerClient, number: str, note: str) -> Ticket:
    """The customer adds information to their case (补充材料) through the partner.

    Recorded as a contact on the client's channel, linked to the case's timeline; the
    owner is told.
    """
    note = _checked(validation.clean_text, note, "note", max_length=validation.TEXT, multiline=True)
    if not note:
        raise InvalidInput(_("A note needs text."))
    with transaction.atomic():
        partner_case = _own_case(client, number)
        ticket = partner_case.ticket
        contact = ticket_services.contact_record(
            actor=PartnerActor(client),
            channel=client.channel,
            agent=ticket.owner,
            customer=ticket.customer,
            note=note,
        )
        ticket_services.contact_link(actor=PartnerActor(client), contact=contact, ticket=ticket)
        audit_record(
            actor=PartnerActor(client),
            action="partners.case_note",
            obj=partner_case,
            after={"contact": contact.pk},
            note=client.name,
        )
        notify(
            recipient=ticket.owner,
            title=_("Case %(number)s: the customer added information through %(client)s.")
            % {"number": ticket.number, "client": client.name},
            link=reverse("tickets:detail", args=[ticket.number]),
            dedupe_key=f"partner-note:{contact.pk}",
        )
    return Ticket.objects.get(pk=ticket.pk)


def partner_case_remind(*, client: PartnerClient, number: str, note: str = "") -> Ticket:
    """The customer chases their case (催办): the people it sits with are reminded."""
    with transaction.atomic():
        partner_case = _own_case(client, number)
        return ticket_services.ticket_remind(
            actor=PartnerActor(client),
            ticket=partner_case.ticket,
            version=None,
            note=(note or "").strip() or _("Reminder from %(client)s") % {"client": client.name},
        )


def partner_case_reopen(*, client: PartnerClient, number: str, reason: str) -> Ticket:
    """The customer disagrees with the resolution: the case reopens with its owner."""
    with transaction.atomic():
        partner_case = _own_case(client, number)
        return ticket_services.ticket_reopen(
            actor=PartnerActor(client), ticket=partner_case.ticket, version=None, reason=reason
        )
