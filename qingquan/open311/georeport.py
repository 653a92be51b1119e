"""Open311 GeoReport v2: services are case kinds, service requests are cases.

Mapping (docs/api.md, "Open311"):
- service_code = a case kind's code (top-level kinds and sub-kinds; `group` is the top
  kind's name); every service has the attributes in `ATTRIBUTES`.
- service_request_id = the case number; status = open while the case is received,
  dispatched, in progress or returned, closed once resolved or closed;
  status_notes = the latest customer-visible note; agency_responsible = the handling
  department; expected_datetime = the resolution deadline.
- Requests are created with `qingquan.partners.services.partner_case_create` for the
  client whose api_key is given (its channel, its integration inbox owner).
- GET requests shows the requests submitted through Open311 only (the public never sees
  phone-line cases).
All datetimes are ISO 8601 with the Asia/Shanghai offset (+08:00).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from xml.etree import ElementTree as ET

from django.utils.translation import gettext_lazy as _

from qingquan.core import clock
from qingquan.partners.models import PartnerCase
from qingquan.tickets.models import OPEN_STATES, CaseKind, TicketEvent

JURISDICTION = "96390.ningbo.gov.cn"
DEFAULT_DAYS = 90
MAX_REQUESTS = 1000


@dataclass(frozen=True)
class Attribute:
    code: str
    datatype: str
    description: Any
    required: bool = False
    datatype_description: Any = ""
    values: tuple[tuple[str, Any], ...] = field(default_factory=tuple)
    # Personal data (an account number): kept on the request, never published.
    private: bool = False


ATTRIBUTES: tuple[Attribute, ...] = (
    Attribute(
        code="account_number",
        datatype="string",
        description=_("Water account number (户号), if the request is about one account"),
        datatype_description=_("Digits only, as printed on the water bill"),
        private=True,
    ),
    Attribute(
        code="contact_preference",
        datatype="singlevaluelist",
        description=_("How the reporter wants to hear back"),
        values=(("phone", _("Phone call")), ("sms", _("Text message")), ("none", _("No reply"))),
    ),
)


class Open311Error(Exception):
    """An error answered with the spec's error body ([{code, description}])."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(clock.SHANGHAI).isoformat(timespec="seconds") if value else None


def service_list() -> list[dict[str, Any]]:
    kinds = list(CaseKind.objects.filter(is_active=True).select_related("parent"))
    result = []
    for parent in (k for k in kinds if k.parent_id is None):
        for kind in [parent, *(k for k in kinds if k.parent_id == parent.pk)]:
            result.append(
                {
                    "service_code": kind.code,
                    "service_name": kind.name,
                    "description": str(kind),
                    "metadata": "true",
                    "type": "realtime",
                    "keywords": ",".join(dict.fromkeys(x for x in (parent.code, kind.code) if x)),
                    "group": parent.name,
                }
            )
    return result


def kind_by_code(code: str) -> CaseKind | None:
    """The active kind `code` from the per-process catalogue (`tickets.reference`;
    `ticket_create` re-checks it against the kinds' current version)."""
    from qingquan.tickets import reference

    kind = reference.kind_by_code(code)
    if kind is not None and not kind.is_active:  # perhaps re-activated since: look again
        kind = reference.catalogue(check=True).by_code.get(code)
    return kind if kind is not None and kind.is_active else None


def service_definition(kind: CaseKind) -> dict[str, Any]:
    return {
        "service_code": kind.code,
        "attributes": [
            {
                "variable": "true",
                "code": a.code,
                "datatype": a.datatype,
                "required": "true" if a.required else "false",
                "datatype_description": str(a.datatype_description),
                "order": str(i),
                "description": str(a.description),
                "values": [{"key": k, "name": str(n)} for k, n in a.values],
            }
            for i, a in enumerate(ATTRIBUTES, start=1)
        ],
    }


def status_of(partner_case: PartnerCase) -> str:
    return "open" if partner_case.ticket.state in OPEN_STATES else "closed"


def request_out(partner_case: PartnerCase) -> dict[str, Any]:
    ticket = partner_case.ticket
    notes = [
        e.note
        for e in ticket.events.all()
        if e.visibility == TicketEvent.Visibility.CUSTOMER and e.note
    ]
    # Public means public: only what the submitter chose to publish (their description,
    # the address or coordinates they gave), never the case's staff-side description, the
    # premise of an account they named, or who they are.
    return {
        "service_request_id": ticket.number,
        "status": status_of(partner_case),
        "status_notes": notes[-1] if notes else "",
        "service_name": ticket.kind.name,
        "service_code": ticket.kind.code,
        "description": partner_case.public_description,
        "agency_responsible": ticket.department.name if ticket.department_id else "",  # type: ignore[union-attr]
        "service_notice": "",
        "requested_datetime": iso(ticket.created_at),
        "updated_datetime": iso(ticket.updated_at),
        "expected_datetime": iso(ticket.resolution_deadline) if ticket.is_open else None,
        "address": partner_case.public_address,
        "address_id": partner_case.address_id,
        "zipcode": "",
        "lat": partner_case.latitude,
        "long": partner_case.longitude,
        "media_url": partner_case.media_url,
    }


# ---------------------------------------------------------------------------
# XML (the spec's required format)
# ---------------------------------------------------------------------------

# The element name of each list item under its container.
_ITEMS = {
    "services": "service",
    "service_requests": "request",
    "attributes": "attribute",
    "values": "value",
    "errors": "error",
    "endpoints": "endpoint",
    "formats": "format",
}


def _fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _fill(ET.SubElement(element, key), item)
    elif isinstance(value, list | tuple):
        child_name = _ITEMS.get(element.tag, "item")
        for item in value:
            _fill(ET.SubElement(element, child_name), item)
    elif value is None:
        element.text = ""
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    else:
        element.text = str(value)


def to_xml(root: str, value: Any) -> bytes:
    """`value` (a dict or a list) as the spec's XML under `root`, with the declaration."""
    element = ET.Element(root)
    _fill(element, value)
    body = ET.tostring(element, encoding="unicode")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body).encode()
