"""Cases from partners: checked intake, the case with its partner record and its
webhook deliveries, in one transaction."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any, ParamSpec

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from qingquan.core import clock, validation
from qingquan.core.actors import PartnerActor
from qingquan.core.audit import audit_record
from qingquan.core.db import fastinsert, fastselect, locks
from qingquan.core.notifications import notify
from qingquan.partners.errors import (
    NotFound,
    PartnerError,
)
from qingquan.partners.models import (
    PartnerCase,
    PartnerClient,
)
from qingquan.partners.services.idempotency import _in_idempotent
from qingquan.staff.access import can
from qingquan.tickets import reference
from qingquan.tickets import services as ticket_services
from qingquan.tickets.errors import InvalidInput
from qingquan.tickets.models import CaseKind, TicketEvent

# ---------------------------------------------------------------------------
# Cases from partners
# ---------------------------------------------------------------------------


def _checked(check: Callable[..., str], value: str | None, field: str, **limits: Any) -> str:
    """`value` through one of the platform's input rules (core.validation); refused, never
    cut, with a message naming the field and its limit."""
    try:
        return check(value, field=field, **limits)
    except ValidationError as error:
        raise InvalidInput(error.messages[0]) from None


def kind_for_intake(code: str) -> CaseKind:
    """The active kind `code`, from the per-process catalogue (`tickets.reference`:
    `ticket_create` re-checks it against the current version of the kinds)."""
    kind = reference.kind_by_code(code)
    if kind is not None and not kind.is_active:  # perhaps re-activated since: look again
        kind = reference.catalogue(check=True).by_code.get(code)
    if kind is None or not kind.is_active:
        raise NotFound(_("No case kind %(code)s.") % {"code": code}, code="unknown_kind")
    return kind


@dataclasses.dataclass(frozen=True)
class PartnerIntake:
    """One case as a partner sends it, its text already through the input rules
    (`partner_case_create` builds it): what `_create_locked` turns into a case."""

    kind: CaseKind
    subject: str
    description: str = ""
    caller_name: str = ""
    caller_phone: str = ""
    address: str = ""
    external_id: str = ""
    account_number: str = ""
    source: str = PartnerCase.Source.API
    latitude: float | None = None
    longitude: float | None = None
    address_id: str = ""
    media_url: str = ""
    attributes: dict[str, Any] = dataclasses.field(default_factory=dict)
    public_description: str = ""
    public_address: str = ""
    submitter_email: str = ""


@dataclasses.dataclass(frozen=True)
class Received:
    """A case a partner sent: its partner record, whether this call created it, and for a
    new case its "create" timeline entry (its one customer-visible entry, which the API
    answers with instead of reading the timeline back)."""

    partner_case: PartnerCase
    created: bool
    create_event: TicketEvent | None = None


def partner_case_receive(
    *,
    client: PartnerClient,
    kind: CaseKind,
    subject: str,
    description: str = "",
    caller_name: str = "",
    caller_phone: str = "",
    address: str = "",
    external_id: str = "",
    account_number: str = "",
    source: str = PartnerCase.Source.API,
    latitude: float | None = None,
    longitude: float | None = None,
    address_id: str = "",
    media_url: str = "",
    attributes: dict[str, Any] | None = None,
    public_description: str = "",
    public_address: str = "",
    submitter_email: str = "",
) -> Received:
    """Receive a case from a partner (`partner_case_create` answers (partner case,
    created) of the `Received`).

    The same external id from the same client is one case: a second creation returns
    the first (also when two arrive at once: the unique constraint decides).
    `public_description` and `public_address` are what an Open311 submitter published;
    `submitter_email` stays private like the caller's name and phone. The keywords are
    the fields of the partner API and Open311 one for one; checked, they become a
    `PartnerIntake`.
    """
    external_id = _checked(
        validation.clean_text, external_id, "external_id", max_length=validation.ID
    )
    address_id = _checked(validation.clean_text, address_id, "address_id", max_length=validation.ID)
    media_url = _checked(validation.clean_url, media_url, "media_url")
    caller_phone = _checked(validation.clean_phone, caller_phone, "caller_phone")
    intake = PartnerIntake(
        kind=kind,
        subject=subject,
        description=description,
        caller_name=caller_name,
        caller_phone=caller_phone,
        address=address,
        external_id=external_id,
        account_number=account_number,
        source=source,
        latitude=latitude,
        longitude=longitude,
        address_id=address_id,
        media_url=media_url,
        attributes=attributes or {},
        public_description=public_description,
        public_address=public_address,
        submitter_email=submitter_email,
    )
    # No duplicate-key error as control flow: the external id is locked before it is
    # looked up (core.db.locks: on PostgreSQL an advisory lock on the client and id until
    # the transaction ends; SQLite's transaction holds the one write lock), so a
    # concurrent creation with the same id waits, then finds this case.
    with transaction.atomic(savepoint=not _in_idempotent.get()):
        if intake.external_id:
            locks.hold_until_commit(EXTERNAL_ID_LOCK + client.pk, intake.external_id)
            # A new id (nearly always) costs one precompiled look-up (core.db.fastselect).
            known = fastselect.first_id(
                PartnerCase,
                within="partner_case_unique_external_id",
                client_id=client.pk,
                external_id=intake.external_id,
            )
            if known is not None:
                return Received(PartnerCase.objects.get(pk=known), created=False)
        return _create_locked(client, intake)


EXTERNAL_ID_LOCK = 0x5143_0000  # + client id: first key of an external id's advisory lock


def _create_locked(client: PartnerClient, intake: PartnerIntake) -> Received:
    """The case, its partner record and its webhook deliveries, in the caller's
    transaction (which holds the external id's lock)."""
    owner = client.intake_owner
    if not owner.is_active or not can(owner, "tickets.create"):
        raise PartnerError(
            _("This client's integration inbox owner cannot own cases; tell the utility."),
            code="intake_unavailable",
            status=409,
        )
    account = _intake_account(intake.account_number)
    now = clock.now()
    ticket, create_event = _open_case(client, intake, owner=owner, account=account, now=now)
    # No signal listens to PartnerCase: one precompiled INSERT (core.db.fastinsert).
    partner_case = PartnerCase(
        client=client,
        ticket=ticket,
        external_id=intake.external_id,
        source=intake.source,
        token=PartnerCase.new_token(),
        latitude=intake.latitude,
        longitude=intake.longitude,
        address_id=intake.address_id,
        media_url=intake.media_url,
        attributes=intake.attributes,
        public_description=intake.public_description,
        public_address=intake.public_address[:255],
        submitter_email=intake.submitter_email,
        created_at=now,
    )
    fastinsert.create(partner_case)
    _write_create_deliveries(client.pk, create_event)
    audit_record(
        actor=PartnerActor(client),
        action="partners.case_create",
        obj=partner_case,
        after={"client": client.code, "ticket": ticket.number, "external_id": intake.external_id},
        note=client.name,
    )
    link = reverse("tickets:detail", args=[ticket.number])
    notify(
        recipient=owner,
        title=_("New case %(number)s from %(client)s: please take it or have it re-assigned.")
        % {"number": ticket.number, "client": client.name},
        link=link,
        dedupe_key=f"partner-intake:{ticket.pk}",
    )
    return Received(partner_case, created=True, create_event=create_event)


def _intake_account(account_number: str) -> Any:
    """The account a partner named (with its customer and premise), None for none."""
    from qingquan.customers.models import Account

    if not account_number:
        return None
    account = (
        Account.objects.select_related("customer", "premise")
        .filter(number=account_number.strip())
        .first()
    )
    if account is None:
        raise InvalidInput(_("No account %(number)s.") % {"number": account_number})
    return account


def _open_case(
    client: PartnerClient, intake: PartnerIntake, *, owner: Any, account: Any, now: dt.datetime
) -> ticket_services.Opened:
    """The contact on the client's channel, taken by the inbox owner, and the case it
    opens (the owner is its first-contact owner)."""
    # contact_record's work without its savepoint: this transaction is the creation's.
    contact = ticket_services.contact_insert(
        actor=PartnerActor(client),
        channel=client.channel,
        from_address=intake.caller_phone,
        started_at=now,
        agent=owner,
        customer=account.customer if account else None,
        note=_("Received from %(client)s") % {"client": client.name}
        + (f" ({intake.external_id})" if intake.external_id else ""),
    )
    return ticket_services.ticket_open(
        actor=PartnerActor(client),
        kind=intake.kind,
        channel=client.channel,
        subject=intake.subject,
        description=intake.description,
        caller_name=intake.caller_name,
        caller_phone=intake.caller_phone,
        address=intake.address or (account.premise.address if account else ""),
        customer=account.customer if account else None,
        account=account,
        premise=account.premise if account else None,
        contact=contact,
    )


def _write_create_deliveries(client_id: int, create_event: TicketEvent) -> None:
    """The case's "create" timeline entry becomes webhook deliveries in this transaction
    (signals.py leaves "create" entries to this intake, the only way a case becomes a
    partner's): committed with the case, or not at all."""
    from qingquan.partners.models import Subscription
    from qingquan.partners.webhooks import outbox_write

    if fastselect.first_id(Subscription, client_id=client_id, is_active=True) is None:
        return  # the client subscribed to nothing: one precompiled look-up
    outbox_write(event_id=create_event.pk)


P = ParamSpec("P")


def _pair(receive: Callable[P, Received]) -> Callable[P, tuple[PartnerCase, bool]]:
    def partner_case_create(*args: P.args, **kwargs: P.kwargs) -> tuple[PartnerCase, bool]:
        received = receive(*args, **kwargs)
        return received.partner_case, received.created

    partner_case_create.__doc__ = f"{receive.__doc__}\n    (`partner_case_create`: the pair.)"
    return partner_case_create


# What most callers use: `partner_case_receive`'s keywords, (partner case, created).
partner_case_create = _pair(partner_case_receive)
