"""Console writes: fast intake from a call (one form, resolved on the call when it can be),
linking a call to a case the caller chases, quick customer creation, notes and
attachments. Keyword-only, one transaction each, audited; pushes go on commit."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext as _

from qingquan.console.models import Attachment, CaseNote, Draft, Visibility
from qingquan.core import clock
from qingquan.core.access import AccessDenied
from qingquan.core.actors import require_actor, user_of
from qingquan.core.audit import audit_record
from qingquan.customers import phones
from qingquan.customers.models import Account, Customer
from qingquan.staff.access import can
from qingquan.telephony.models import Call
from qingquan.tickets import services as tickets
from qingquan.tickets.errors import TicketError
from qingquan.tickets.models import CaseKind, Channel, Ticket

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
# extension -> (kind, content type, leading bytes the file must start with or None)
ALLOWED_FILES: dict[str, tuple[str, str, tuple[bytes, ...] | None]] = {
    "jpg": ("photo", "image/jpeg", (b"\xff\xd8\xff",)),
    "jpeg": ("photo", "image/jpeg", (b"\xff\xd8\xff",)),
    "png": ("photo", "image/png", (b"\x89PNG\r\n\x1a\n",)),
    "gif": ("photo", "image/gif", (b"GIF87a", b"GIF89a")),
    "webp": ("photo", "image/webp", (b"RIFF",)),
    "pdf": ("document", "application/pdf", (b"%PDF-",)),
    "docx": (
        "document",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        (b"PK\x03\x04",),
    ),
    "xlsx": (
        "document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        (b"PK\x03\x04",),
    ),
    "doc": ("document", "application/msword", (b"\xd0\xcf\x11\xe0",)),
    "xls": ("document", "application/vnd.ms-excel", (b"\xd0\xcf\x11\xe0",)),
    "txt": ("document", "text/plain", None),
}

# Top-level kinds that can be answered and resolved while the caller is on the line.
RESOLVABLE_ON_CALL = ("consultation", "bill")


class ConsoleError(Exception):
    """Input the console refuses; shown as a form error (400 for API-style callers)."""

    def __init__(self, message: Any, field: str = "") -> None:
        super().__init__(str(message))
        self.message = str(message)
        self.field = field


class NotPermitted(ConsoleError, AccessDenied):
    """The platform's one access error, as a console error (a form error on pages)."""


def _require(actor: Any, capability: str) -> None:
    if not can(require_actor(actor), capability):
        raise NotPermitted(_("Your role may not do this (%(cap)s).") % {"cap": capability})


@dataclass(frozen=True)
class Intake:
    """What the intake form collected (already looked up, not yet checked)."""

    kind: CaseKind | None
    subject: str = ""
    location: str = ""
    description: str = ""
    address: str = ""
    account: Account | None = None
    customer: Customer | None = None
    caller_name: str = ""
    caller_phone: str = ""
    resolve_now: bool = False
    resolution: str = ""
    call: Call | None = None
    # A map pin for a repair (longitude, latitude): the case is placed on the pipe
    # network there rather than at its premise (network.services.case_locate).
    pin: tuple[float, float] | None = None


def _subject(intake: Intake, kind: CaseKind) -> str:
    top = kind.top.code
    if top == "complaint":
        if not intake.subject.strip():
            raise ConsoleError(_("Say what the complaint is about (its subject)."), field="subject")
        return intake.subject
    if top == "repair" and not intake.location.strip():
        raise ConsoleError(
            _("Say where the problem is (street, building, what is seen)."), field="location"
        )
    if intake.subject.strip():
        return intake.subject
    detail = intake.location.strip() or intake.description.strip()
    return f"{kind.name}：{detail[:60]}" if detail else str(kind.name)


def _call_number(call: Call | None) -> str:
    """The call's number as the case's caller number, when it is a phone number: a
    withheld or odd number from the phone system stays on the call's contact only (the
    agent was not asked to type it, so it must not refuse the case)."""
    number = phones.try_normalise(call.from_number) if call is not None else None
    return number[0] if number else ""


@transaction.atomic
def intake_submit(*, actor: Any, intake: Intake) -> Ticket:
    """Open a case from the console form, linked to the call's contact (the agent who took
    the call owns it, 首问责任制). Consultations and bill enquiries marked "resolved on the
    call" are received and resolved in this one step."""
    _require(actor, "console.use")
    kind = intake.kind
    if kind is None or not kind.is_active:
        raise ConsoleError(_("Choose the kind of case."), field="kind")
    subject = _subject(intake, kind)
    if intake.resolve_now:
        if kind.top.code not in RESOLVABLE_ON_CALL:
            raise ConsoleError(
                _("Only consultations and bill enquiries are resolved on the call."),
                field="resolve_now",
            )
        if not intake.resolution.strip():
            raise ConsoleError(_("Write the answer given to the caller."), field="resolution")
    account = intake.account
    customer = intake.customer or (account.customer if account is not None else None)
    premise = account.premise if account is not None else None
    address = intake.address.strip() or (premise.address if premise is not None else "")
    description = intake.description
    if intake.location.strip() and kind.top.code == "repair":
        location = _("Location: %(where)s") % {"where": intake.location.strip()}
        description = f"{location}\n{description}".strip()
    contact = intake.call.contact if intake.call is not None else None
    if contact is not None and contact.agent_id not in (None, actor.pk):
        raise ConsoleError(_("This call was answered by someone else."))
    try:
        ticket = tickets.ticket_create(
            actor=actor,
            kind=kind,
            channel=Channel.PHONE,
            subject=subject,
            description=description,
            caller_name=intake.caller_name or (customer.name if customer else ""),
            caller_phone=intake.caller_phone or _call_number(intake.call),
            address=address,
            district=premise.district if premise is not None else None,
            customer=customer,
            account=account,
            premise=premise,
            contact=contact,
        )
        if intake.pin is not None and kind.top.code == "repair":
            _place_pin(actor, ticket, intake.pin)
        if intake.resolve_now:
            ticket = tickets.ticket_resolve(
                actor=actor, ticket=ticket, version=ticket.version, resolution=intake.resolution
            )
    except TicketError as error:
        raise ConsoleError(error.message) from None
    audit_record(
        actor=actor,
        action="console.intake",
        obj=ticket,
        after={
            "call": intake.call.call_id if intake.call is not None else None,
            "resolved_on_call": intake.resolve_now,
        },
    )
    return ticket


def _place_pin(actor: Any, ticket: Ticket, pin: tuple[float, float]) -> None:
    """A repair's map pin placed on the network in the intake's transaction."""
    from qingquan.network.services import NetworkError, case_locate

    try:
        case_locate(actor=actor, ticket=ticket, lon=pin[0], lat=pin[1])
    except NetworkError as refused:
        raise ConsoleError(refused.message, field="pin") from None


@transaction.atomic
def call_link_case(*, actor: Any, call: Call, ticket: Ticket) -> Ticket:
    """The caller chases an existing case: link this call's contact to it (timeline entry)."""
    _require(actor, "console.use")
    if call.contact is None:
        raise ConsoleError(_("This call has no contact record yet (not answered)."))
    if call.agent_id != actor.pk and not can(actor, "wallboard.view"):
        raise ConsoleError(_("This call was answered by someone else."))
    tickets.contact_link(actor=actor, contact=call.contact, ticket=ticket)
    return ticket


@transaction.atomic
def customer_quick_create(
    *, actor: Any, name: str, phone: str, elderly_or_impaired: bool = False, note: str = ""
) -> Customer:
    """An unknown caller becomes a customer with their number (customers' service)."""
    from qingquan.customers.services import customer_create

    _require(actor, "console.use")
    name = (name or "").strip()
    if not name:
        raise ConsoleError(_("Give the caller's name."), field="name")
    try:
        return customer_create(
            actor=actor,
            name=name,
            phone_numbers=[phone] if phone else [],
            elderly_or_impaired=elderly_or_impaired,
            note=note,
        )
    except ValidationError as error:
        raise ConsoleError("; ".join(error.messages)) from None


@transaction.atomic
def note_add(*, actor: Any, ticket: Ticket, body: str, visibility: str) -> CaseNote:
    """Add an internal or customer-visible note to a case."""
    _require(actor, "console.use")
    body = (body or "").strip()
    if not body:
        raise ConsoleError(_("Write the note."), field="body")
    if visibility not in Visibility.values:
        raise ConsoleError(_("Choose who may see the note."), field="visibility")
    note = CaseNote.objects.create(
        ticket=ticket, author=actor, created_at=clock.now(), body=body, visibility=visibility
    )
    audit_record(
        actor=actor,
        action="console.note",
        obj=note,
        after={"ticket": ticket.number, "visibility": visibility},
    )
    return note


def check_upload(upload: UploadedFile) -> tuple[str, str]:
    """(kind, content type) of an allowed upload; ConsoleError naming what is wrong."""
    name = upload.name or ""
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext not in ALLOWED_FILES:
        raise ConsoleError(
            _(
                "Files of type “%(ext)s” are not accepted; use photos (jpg, png) or documents "
                "(pdf, docx, xlsx, txt)."
            )
            % {"ext": ext or "?"},
            field="file",
        )
    if upload.size is None or upload.size > MAX_ATTACHMENT_BYTES:
        raise ConsoleError(_("Files may be at most 10 MB."), field="file")
    if upload.size == 0:
        raise ConsoleError(_("The file is empty."), field="file")
    kind, content_type, magic = ALLOWED_FILES[ext]
    if magic is not None:
        upload.seek(0)
        head = upload.read(16)
        upload.seek(0)
        if not any(head.startswith(m) for m in magic):
            raise ConsoleError(
                _("The file's content does not match its type “%(ext)s”.") % {"ext": ext},
                field="file",
            )
    return kind, content_type


@transaction.atomic
def attachment_add(
    *, actor: Any, ticket: Ticket, upload: UploadedFile, visibility: str = Visibility.INTERNAL
) -> Attachment:
    """Attach a photo or document to a case (type and size checked, stored in MEDIA_ROOT)."""
    _require(actor, "console.use")
    if visibility not in Visibility.values:
        raise ConsoleError(_("Choose who may see the file."), field="visibility")
    kind, content_type = check_upload(upload)
    attachment = Attachment(
        ticket=ticket,
        name=(upload.name or "file")[-200:],
        kind=kind,
        content_type=content_type,
        size=upload.size or 0,
        visibility=visibility,
        uploaded_by=user_of(actor),
        uploaded_at=clock.now(),
    )
    attachment.file.save(upload.name or "file", upload, save=False)
    try:
        attachment.save()
        audit_record(
            actor=actor,
            action="console.attachment",
            obj=attachment,
            after={"ticket": ticket.number, "name": attachment.name, "size": attachment.size},
        )
    except Exception:
        attachment.file.delete(save=False)  # no orphan file when the record is not written
        raise
    return attachment


# ---------------------------------------------------------------------------
# Drafts (what was typed and not yet sent)
# ---------------------------------------------------------------------------

# A draft belongs to a contact's intake form or a case's note form.
DRAFT_KEY = re.compile(r"^(intake:contact:\d{1,12}|note:case:[A-Za-z0-9-]{1,40})$")
MAX_DRAFT_FIELDS = 40
MAX_DRAFT_VALUE = 5000


def _draft_key(key: str) -> str:
    if not DRAFT_KEY.match(key or ""):
        raise ConsoleError(_("Unknown form for a draft."), field="key")
    return key


def draft_get(*, actor: Any, key: str) -> Draft | None:
    """The actor's own draft of one form, or None."""
    return Draft.objects.filter(user=actor, key=_draft_key(key)).first()


def draft_save(*, actor: Any, key: str, data: Any) -> Draft:
    """Keep what ``actor`` typed into one form (field name → text), replacing the earlier
    draft. Not audited on purpose: a draft is the person's own unsent typing, saved every
    few seconds; what is sent from it is audited by the service that receives it."""
    if not can(require_actor(actor), "console.use"):
        raise NotPermitted(_("Only agents and supervisors keep console drafts."))
    key = _draft_key(key)
    if not isinstance(data, dict) or len(data) > MAX_DRAFT_FIELDS:
        raise ConsoleError(_("A draft is a set of at most 40 named fields."), field="data")
    clean: dict[str, str] = {}
    for name, value in data.items():
        if not isinstance(name, str) or not isinstance(value, str) or len(name) > 60:
            raise ConsoleError(_("A draft holds text fields only."), field="data")
        if len(value) > MAX_DRAFT_VALUE:
            raise ConsoleError(
                _("A draft field holds at most %(n)d characters.") % {"n": MAX_DRAFT_VALUE},
                field="data",
            )
        clean[name] = value
    draft, _created = Draft.objects.update_or_create(
        user=actor, key=key, defaults={"data": clean, "updated_at": clock.now()}
    )
    return draft


def draft_discard(*, actor: Any, key: str) -> None:
    """Forget the actor's draft of one form (it was sent)."""
    Draft.objects.filter(user=actor, key=_draft_key(key)).delete()
