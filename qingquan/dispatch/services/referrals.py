"""Referrals of cases to referral partners (R-REP-3)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from qingquan.core import clock
from qingquan.core.actors import user_of
from qingquan.core.audit import audit_record
from qingquan.dispatch.errors import InvalidInput
from qingquan.dispatch.models import (
    Referral,
    ReferralPartner,
)
from qingquan.dispatch.services.base import (
    _clean,
)


@transaction.atomic
def referral_make(*, actor: Any, ticket: Any, partner: ReferralPartner, note: str = "") -> Referral:
    """Refer a case to a referral partner (help beyond duty, e.g. leak detection on a
    customer's private pipes): on the case's timeline (visible to the customer) and
    audited. The case's owner side or its handlers may refer it."""
    from qingquan.tickets import rules
    from qingquan.tickets.errors import NotAllowed

    if not (rules.is_owner_side(actor, ticket) or rules.is_handler(actor, ticket)):
        raise NotAllowed(_("You may not do this to case %(number)s.") % {"number": ticket.number})
    if not partner.is_active:
        raise InvalidInput(
            _("%(partner)s takes no referrals any more.") % {"partner": partner}, field="partner"
        )
    note = _clean(note, limit=200)
    now = clock.now()
    referral = Referral.objects.create(
        ticket=ticket, partner=partner, note=note, created_at=now, created_by=user_of(actor)
    )
    from qingquan.tickets.models import TicketEvent

    text = _("Referred to %(partner)s (%(service)s)") % {
        "partner": partner.name,
        "service": partner.service,
    }
    TicketEvent.objects.create(
        ticket=ticket,
        at=now,
        actor=user_of(actor),
        action="referral",
        from_state=ticket.state,
        to_state=ticket.state,
        note=f"{text} {note}".strip(),
        visibility=TicketEvent.Visibility.CUSTOMER,
        data={"partner": partner.pk},
    )
    audit_record(
        actor=actor,
        action="dispatch.referral.create",
        obj=referral,
        after={"ticket": ticket.number, "partner": partner.name},
    )
    return referral
