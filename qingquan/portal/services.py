"""Writes of the online service hall: login codes, sessions, account binding, cases
opened by residents, notice subscriptions and the elder-friendly switch.

Residents are not staff: cases are opened by `system("portal")` on the channel of the
portal (online hall or WeChat), owned by the portal's inbox owner (a supervisor, as a
partner's cases are owned by its intake owner) until a supervisor hands them on.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext as _

from qingquan.core import clock
from qingquan.core.actors import system
from qingquan.core.audit import audit_record
from qingquan.core.db import fastinsert
from qingquan.customers import phones
from qingquan.customers.models import Account, Premise
from qingquan.messaging.models import Channel as MsgChannel
from qingquan.messaging.services import Outgoing, messages_queue
from qingquan.network import selectors as network_selectors
from qingquan.portal import rules
from qingquan.portal.models import (
    BindAttempt,
    Binding,
    BindingProof,
    CaseLink,
    LoginCode,
    PortalSession,
    RepairPhoto,
    Resident,
)

ACTOR = system("portal")


class PortalError(ValidationError):
    """A refusal to show the resident (translated message)."""


def digest(text: str) -> str:
    """Keyed SHA-256 of a code or session key (the table never holds the secret)."""
    return hmac.new(settings.SECRET_KEY.encode(), text.encode(), hashlib.sha256).hexdigest()


def normalise_phone(raw: str) -> str:
    """The E.164 form of a mobile number; PortalError if it is not one."""
    if not phones.is_mobile(raw or ""):
        raise PortalError(_("Enter a mainland mobile number (11 digits)."))
    return phones.normalise(raw)[0]


# Login -------------------------------------------------------------------------------------
def code_request(*, phone: str, ip: str | None) -> LoginCode:
    """Send a one-time login code to `phone` by SMS (queued in this transaction).

    Refused with a clear message when the number asked less than a minute ago, or more
    than the hourly limit of the number or of the address."""
    e164 = normalise_phone(phone)
    now = clock.now()
    hour = now - dt.timedelta(hours=1)
    with transaction.atomic():
        recent = LoginCode.objects.filter(phone=e164, created_at__gte=hour)
        last = recent.order_by("-created_at").first()
        if last is not None and now - last.created_at < rules.CODE_GAP:
            wait = int((rules.CODE_GAP - (now - last.created_at)).total_seconds()) + 1
            raise PortalError(_("A code was just sent. Ask again in %(s)d seconds.") % {"s": wait})
        if recent.count() >= rules.CODE_PER_PHONE_HOUR:
            raise PortalError(
                _("Too many codes for this number. Try again in an hour or call 96390.")
            )
        if ip and LoginCode.objects.filter(ip=ip, created_at__gte=hour).count() >= (
            rules.CODE_PER_IP_HOUR
        ):
            raise PortalError(
                _("Too many codes from this network. Try again in an hour or call 96390.")
            )
        code = f"{secrets.randbelow(10**rules.CODE_DIGITS):0{rules.CODE_DIGITS}d}"
        row = LoginCode.objects.create(
            phone=e164,
            code_hash=digest(f"{e164}:{code}"),
            ip=ip or None,
            created_at=now,
            expires_at=now + rules.CODE_VALID,
        )
        minutes = int(rules.CODE_VALID.total_seconds() // 60)
        messages_queue(
            source="portal.login",
            source_id=row.pk,
            urgent=True,
            messages=[
                Outgoing(
                    channel=MsgChannel.SMS,
                    to=e164,
                    template="portal_login_code",
                    # The SMS is in Chinese whatever language the page is in.
                    body=f"您的网上营业厅验证码为 {code}，{minutes} 分钟内有效，请勿告诉他人。",
                    params={"code": code, "minutes": minutes},
                )
            ],
        )
    return row


def code_pending(phone: str) -> bool:
    """Whether `phone` has a code it can still use (the page then asks for it)."""
    try:
        e164 = normalise_phone(phone)
    except PortalError:
        return False
    return LoginCode.objects.filter(
        phone=e164,
        used_at__isnull=True,
        expires_at__gt=clock.now(),
        attempts__lt=rules.CODE_TRIES,
    ).exists()


def code_verify(*, phone: str, code: str) -> Resident:
    """The resident of `phone` once `code` is the latest unexpired code sent to it.

    A code is used once; after `CODE_TRIES` wrong tries it is spent."""
    e164 = normalise_phone(phone)
    now = clock.now()
    code = (code or "").strip()
    refusal = ""
    with transaction.atomic():
        row = (
            LoginCode.objects.select_for_update()
            .filter(phone=e164, used_at__isnull=True)
            .order_by("-created_at")
            .first()
        )
        if row is None or row.expires_at <= now or row.attempts >= rules.CODE_TRIES:
            refusal = _("The code has expired or was used. Ask for a new one.")
        elif not hmac.compare_digest(row.code_hash, digest(f"{e164}:{code}")):
            # Counted in this (committed) transaction; the refusal is raised after it.
            row.attempts += 1
            row.save(update_fields=["attempts"])
            left = rules.CODE_TRIES - row.attempts
            if left <= 0:
                refusal = _("Wrong code too many times. Ask for a new one.")
            else:
                refusal = _("Wrong code. %(n)d tries left.") % {"n": left}
    if refusal:
        raise PortalError(refusal)
    assert row is not None
    with transaction.atomic():
        row = LoginCode.objects.select_for_update().get(pk=row.pk)
        if row.used_at is not None:
            raise PortalError(_("The code has expired or was used. Ask for a new one."))
        row.used_at = now
        row.save(update_fields=["used_at"])
        resident, created = Resident.objects.get_or_create(phone=e164, defaults={"created_at": now})
        resident.last_login_at = now
        resident.save(update_fields=["last_login_at"])
        if created:
            audit_record(actor=ACTOR, action="portal.resident.create", obj=resident)
    return resident


def session_start(*, resident: Resident) -> str:
    """A new session for `resident`; returns the cookie's key (only its digest is kept)."""
    key = secrets.token_urlsafe(32)
    now = clock.now()
    PortalSession.objects.create(
        resident=resident,
        key_hash=digest(key),
        created_at=now,
        expires_at=now + rules.SESSION_AGE,
    )
    return key


def session_resident(key: str) -> Resident | None:
    """The resident of a live session key, None for none."""
    if not key or len(key) > 100:
        return None
    row = (
        PortalSession.objects.select_related("resident")
        .filter(key_hash=digest(key), ended_at__isnull=True, expires_at__gt=clock.now())
        .first()
    )
    return row.resident if row else None


def session_end(key: str) -> None:
    PortalSession.objects.filter(key_hash=digest(key or "")).update(ended_at=clock.now())


def elder_mode_set(*, resident: Resident, on: bool) -> Resident:
    resident.elder_mode = on
    resident.save(update_fields=["elder_mode"])
    return resident


# Accounts ----------------------------------------------------------------------------------
def _same_name(a: str, b: str) -> bool:
    return "".join(a.split()).casefold() == "".join(b.split()).casefold()


def account_bind(
    *, resident: Resident, number: str, name: str = "", id_digits: str = ""
) -> Binding:
    """Bind account `number` to `resident` once they prove it: the holder's name as on
    record, or the last digits of the ID number / USCC on record. Failures are counted
    (a few an hour) and the message never says which part was wrong."""
    now = clock.now()
    hour = now - dt.timedelta(hours=1)
    if BindAttempt.objects.filter(resident=resident, at__gte=hour).count() >= (
        rules.BIND_FAILURES_PER_HOUR
    ):
        raise PortalError(_("Too many failed tries. Try again in an hour or call 96390."))
    number = (number or "").strip()
    name = (name or "").strip()
    id_digits = (id_digits or "").strip().upper()
    if not number or not (name or id_digits):
        raise PortalError(_("Enter the account number and the holder's name or ID digits."))
    account = (
        Account.objects.select_related("customer", "premise").filter(number=number[:20]).first()
    )
    proof = ""
    if account is not None:
        customer = account.customer
        on_record = (customer.id_number or customer.uscc or "").upper()
        if name and _same_name(name, customer.name):
            proof = BindingProof.NAME
        elif (
            len(id_digits) == rules.ID_DIGITS
            and len(on_record) > rules.ID_DIGITS
            and hmac.compare_digest(on_record[-rules.ID_DIGITS :], id_digits)
        ):
            proof = BindingProof.ID_DIGITS
    if not proof:
        BindAttempt.objects.create(resident=resident, at=now)
        raise PortalError(_("The account number and the details given do not match our records."))
    assert account is not None
    with transaction.atomic():
        binding = fastinsert.create(
            Binding(resident=resident, account=account, proof=proof, created_at=now),
            skip_conflict=True,  # already bound: refused below, with no error logged
        )
        if binding is None:
            raise PortalError(_("This account is already in your list."))
        audit_record(
            actor=ACTOR,
            action="portal.bind",
            obj=binding,
            after={"account": account.number, "proof": proof, "resident": resident.pk},
        )
    return binding


def account_unbind(*, resident: Resident, binding: Binding) -> None:
    if binding.resident_id != resident.pk:
        raise PortalError(_("Not your account."))
    with transaction.atomic():
        audit_record(
            actor=ACTOR,
            action="portal.unbind",
            obj=binding,
            before={"account": binding.account_id, "resident": resident.pk},
        )
        binding.delete()


# Cases -------------------------------------------------------------------------------------
def inbox_owner() -> Any:
    """Who owns cases opened in the portal until a supervisor hands them on: the user
    named by QINGQUAN_PORTAL_INBOX, else the first active supervisor."""
    from qingquan.staff.models import User
    from qingquan.staff.roles import Role

    username = getattr(settings, "QINGQUAN_PORTAL_INBOX", "")
    qs = User.objects.filter(is_active=True)
    owner = qs.filter(username=username).first() if username else None
    owner = owner or qs.filter(role=Role.SUPERVISOR).order_by("pk").first()
    if owner is None:
        raise PortalError(_("The online hall cannot take cases just now. Please call 96390."))
    return owner


def check_photo(upload: UploadedFile) -> str:
    """The content type of an uploaded photo after checking its size and first bytes."""
    if upload.size is None or upload.size > rules.PHOTO_MAX_BYTES:
        raise PortalError(_("A photo may be at most 5 MB."))
    head = upload.read(16)
    upload.seek(0)
    for content_type, magic in rules.PHOTO_TYPES.items():
        if head.startswith(magic):
            return content_type
    raise PortalError(_("Photos must be JPEG or PNG images."))


@dataclass
class Report:
    kind: Any
    subject: str
    description: str = ""
    address: str = ""
    account: Account | None = None
    latitude: float | None = None
    longitude: float | None = None
    needs_place: bool = True  # a repair needs an address or a pin; a question does not


def case_open(
    *,
    resident: Resident,
    report: Report,
    channel: str = "web",
    photos: Iterable[UploadedFile] = (),
) -> Any:
    """Open a case for a resident (a repair with an address or map pin and photos, or a
    question) on the portal's channel; returns the case."""
    from qingquan.tickets.services import contact_insert, ticket_create

    photos = list(photos)
    if len(photos) > rules.PHOTOS_PER_REPORT:
        raise PortalError(_("At most 3 photos."))
    types = [check_photo(p) for p in photos]
    account = report.account
    if (
        account is not None
        and not Binding.objects.filter(resident=resident, account=account).exists()
    ):
        raise PortalError(_("Not your account."))
    address = report.address.strip() or (account.premise.address if account else "")
    description = report.description.strip()
    if report.latitude is not None and report.longitude is not None:
        if not (-90 <= report.latitude <= 90 and -180 <= report.longitude <= 180):
            raise PortalError(_("The map pin is not a valid position."))
        if not network_selectors.in_service_area(report.longitude, report.latitude):
            raise PortalError(
                _(
                    "The map pin is outside our service area. Move the pin to where the "
                    "problem is, or remove it and type the address."
                )
            )
        pin = _("Map pin")
        description += f"\n[{pin}: {report.latitude:.6f}, {report.longitude:.6f}]"
    if report.needs_place and not address and report.latitude is None:
        raise PortalError(_("Give an address or set a pin on the map."))
    owner = inbox_owner()
    now = clock.now()
    with transaction.atomic():
        customer = account.customer if account else None
        contact = contact_insert(
            actor=ACTOR,
            channel=channel,
            from_address=resident.phone,
            started_at=now,
            agent=owner,
            customer=customer,
            note=_("Online service hall"),
        )
        ticket = ticket_create(
            actor=ACTOR,
            kind=report.kind,
            channel=channel,
            subject=report.subject.strip()[:200] or str(report.kind),
            description=description.strip(),
            caller_phone=resident.phone,
            address=address[:255],
            customer=customer,
            account=account,
            premise=account.premise if account else None,
            contact=contact,
        )
        CaseLink.objects.create(resident=resident, ticket=ticket)
        if report.latitude is not None and report.longitude is not None:
            # A repair's pin placed on the network, as the staff's new-case form does.
            from qingquan.network.services import case_locate

            case_locate(actor=ACTOR, ticket=ticket, lon=report.longitude, lat=report.latitude)
        for upload, content_type in zip(photos, types, strict=True):
            RepairPhoto.objects.create(
                ticket=ticket,
                resident=resident,
                image=upload,
                content_type=content_type,
                size=upload.size or 0,
                created_at=now,
            )
    return ticket


def subscribe(*, resident: Resident, premise: Premise) -> Any:
    """Subscribe the resident's phone to the interruption notices of one of their
    premises (a premise of a bound account)."""
    from qingquan.notices.services import subscription_create

    if not Binding.objects.filter(resident=resident, account__premise=premise).exists():
        raise PortalError(_("Not your address."))
    return subscription_create(actor=ACTOR, premise=premise, channel="sms", address=resident.phone)


def unsubscribe(*, resident: Resident, premise: Premise) -> int:
    from qingquan.notices.models import Subscription
    from qingquan.notices.services import subscription_delete

    if not Binding.objects.filter(resident=resident, account__premise=premise).exists():
        raise PortalError(_("Not your address."))
    subs = list(Subscription.objects.filter(premise=premise, channel="sms", address=resident.phone))
    for sub in subs:
        subscription_delete(actor=ACTOR, subscription=sub)
    return len(subs)
