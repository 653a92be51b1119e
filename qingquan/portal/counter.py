"""The counter (R-INTAKE-7): staff at a service hall or a government service centre take
a case for a walk-in customer at a named location, with the customer's signature drawn on
a tablet when needed (stored with the case as a PNG); counts by location for reports."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Count
from django.utils.translation import gettext as _

from qingquan.core import clock
from qingquan.core.audit import audit_record
from qingquan.portal.models import CounterCase, ServiceLocation
from qingquan.portal.services import PortalError
from qingquan.staff.access import check

SIGNATURE_MAX_BYTES = 300_000
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def signature_png(data_url: str) -> bytes:
    """The PNG bytes of a canvas's data URL (`data:image/png;base64,…`), checked."""
    prefix = "data:image/png;base64,"
    if not data_url.startswith(prefix):
        raise PortalError(_("The signature is not a PNG image."))
    try:
        raw = base64.b64decode(data_url[len(prefix) :], validate=True)
    except (binascii.Error, ValueError):
        raise PortalError(_("The signature is not a PNG image.")) from None
    if not raw.startswith(PNG_MAGIC):
        raise PortalError(_("The signature is not a PNG image."))
    if len(raw) > SIGNATURE_MAX_BYTES:
        raise PortalError(_("The signature image is too large."))
    return raw


@dataclass
class Walkin:
    """What the customer at the counter asks for."""

    kind: Any
    subject: str
    description: str = ""
    caller_name: str = ""
    caller_phone: str = ""
    address: str = ""


def counter_case_open(
    *,
    actor: Any,
    location: ServiceLocation,
    walkin: Walkin,
    signature: str = "",
    signature_required: bool = False,
) -> Any:
    """Open the case of a walk-in customer on the counter channel at `location`, with the
    signature (a canvas data URL) when one is required or given; returns the case."""
    from qingquan.tickets.services import contact_insert, ticket_create

    check(actor, "tickets.create")
    if not location.is_active:
        raise PortalError(_("Choose a location."))
    png = signature_png(signature) if signature else b""
    if signature_required and not png:
        raise PortalError(_("The customer's signature is needed: ask them to sign."))
    now = clock.now()
    with transaction.atomic():
        contact = contact_insert(
            actor=actor,
            channel="counter",
            from_address=walkin.caller_phone,
            started_at=now,
            note=location.name,
        )
        ticket = ticket_create(
            actor=actor,
            kind=walkin.kind,
            channel="counter",
            subject=walkin.subject,
            description=walkin.description,
            caller_name=walkin.caller_name,
            caller_phone=walkin.caller_phone,
            address=walkin.address or location.address,
            contact=contact,
        )
        row = CounterCase(ticket=ticket, location=location, taken_by=actor, created_at=now)
        if png:
            row.signature.save(f"{ticket.number}.png", ContentFile(png), save=False)
        row.save()
        audit_record(
            actor=actor,
            action="portal.counter.open",
            obj=row,
            after={"ticket": ticket.number, "location": location.name, "signed": bool(png)},
        )
    return ticket


def counts_by_location(*, user: Any, start: dt.date, end: dt.date) -> list[dict[str, Any]]:
    """Counter cases per location taken from `start` to `end` (inclusive, local days)."""
    check(user, "reports.view")
    since = dt.datetime.combine(start, dt.time(0), tzinfo=clock.SHANGHAI)
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(0), tzinfo=clock.SHANGHAI)
    rows = (
        CounterCase.objects.filter(created_at__gte=since, created_at__lt=until)
        .values("location__name", "location__kind")
        .annotate(cases=Count("pk"))
        .order_by("-cases", "location__name")
    )
    return [dict(r) for r in rows]
