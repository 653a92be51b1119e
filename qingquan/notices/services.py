"""Every write of notices: draft, edit, submit, reject, approve (= publish), update,
restore, close; the hotline's "已告知停水"; subscriptions.

Each publication (approve, update, restore) freezes a `NoticeVersion` with the accounts
affected at that moment and their contact numbers (bulk insert), and writes the outbox
rows of its messages (`messaging.services.messages_queue`) in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from qingquan.core import clock
from qingquan.core.actors import user_of
from qingquan.core.audit import audit_record
from qingquan.core.db import bulkload
from qingquan.customers.models import Premise
from qingquan.messaging.services import Outgoing, messages_queue
from qingquan.notices import rules
from qingquan.notices.area import affected, area_errors, area_text, mobiles
from qingquan.notices.models import (
    Notice,
    NoticeCall,
    NoticeKind,
    NoticeRecipient,
    NoticeStatus,
    NoticeVersion,
    Subscription,
    SubscriptionChannel,
    VersionEvent,
)
from qingquan.staff.access import check

EDITABLE = (
    "kind",
    "title",
    "area_source",
    "pipe",
    "include_low_pressure",
    "area",
    "area_text",
    "starts_at",
    "expected_end_at",
    "reason",
    "alternative_supply",
    "contact",
    "late_reason",
)
MAX_ACCOUNTS_LISTED = 200_000
SOURCE = "notice_version"


class NoticeError(ValidationError):
    """A refused change, with messages by field (a form error, a 422)."""


def _snapshot(notice: Notice) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in (*EDITABLE, "status", "version"):
        value = getattr(notice, name)
        out[name] = value.isoformat() if isinstance(value, dt.datetime) else value
    return out


def _write_recipients(
    version: NoticeVersion, rows: list[tuple[Any, ...]], phones: dict[int, str]
) -> None:
    """The version's recipients, one bulk insert (no signals; nobody listens)."""
    ids = bulkload.take_ids(NoticeRecipient, len(rows))
    bulkload.insert_rows(
        NoticeRecipient,
        [
            "id",
            "version_id",
            "account_id",
            "account_number",
            "premise_id",
            "customer_id",
            "district",
            "street",
            "phone",
            "critical_kind",
            "low_pressure",
        ],
        [
            (
                pk,
                version.pk,
                r[0],
                r[1],
                r[2],
                r[3],
                r[4] or "",
                r[5] or "",
                phones.get(r[3], ""),
                r[6] or "",
                r[7],
            )
            for pk, r in zip(ids, rows, strict=True)
        ],
    )


def _freeze(notice: Notice, *, event: str, actor: Any, note: str = "") -> NoticeVersion:
    """A new version of `notice` with its recipients and messages (inside the caller's
    transaction)."""
    found = affected(notice)
    rows = found.rows
    phones = mobiles({r[3] for r in rows})
    notice.area_text = area_text(notice, rows)
    number = notice.version + 1
    by_area = Counter((r[4] or "", r[5] or "") for r in rows)
    version = NoticeVersion.objects.create(
        notice=notice,
        number=number,
        event=event,
        starts_at=notice.starts_at,
        expected_end_at=notice.expected_end_at,
        reason=notice.reason,
        alternative_supply=notice.alternative_supply,
        contact=notice.contact,
        area_text=notice.area_text,
        note=note[:300],
        message=rules.message_text(notice, event),
        published_at=clock.now(),
        published_by=user_of(actor),
        accounts=len(rows),
        phones=len({phones[r[3]] for r in rows if r[3] in phones}),
        critical=len({r[3] for r in rows if r[6]}),
        by_area=[
            {"district": d, "street": s, "accounts": n}
            for (d, s), n in sorted(by_area.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
    )
    _write_recipients(version, rows, phones)
    params = rules.message_params(notice, event)
    template = f"notice_{event}"
    outgoing = [
        Outgoing(channel="sms", to=number_, template=template, body=version.message, params=params)
        for number_ in sorted({phones[r[3]] for r in rows if r[3] in phones})
    ]
    for s in _subscriptions({r[2] for r in rows}):
        outgoing.append(
            Outgoing(
                channel=s.channel,
                to=s.address,
                template=template,
                body=version.message,
                params={**params, "subject": f"{notice.get_kind_display()} {notice.number}"},
            )
        )
    version.messages = messages_queue(
        source=SOURCE, source_id=version.pk, messages=outgoing, urgent=notice.urgent
    )
    version.save(update_fields=["messages"])
    notice.version = number
    return version


def _subscriptions(premises: set[int]) -> list[Subscription]:
    """The subscriptions of these premises: all read and kept by premise while there are
    fewer subscriptions than premises (a city-wide notice: one scan, not a query with
    200,000 parameters), else asked in chunks."""
    if not premises:
        return []
    if Subscription.objects.count() <= len(premises):
        return [s for s in Subscription.objects.order_by("pk") if s.premise_id in premises]
    wanted = sorted(premises)
    found: list[Subscription] = []
    for start in range(0, len(wanted), 5000):
        found += Subscription.objects.filter(premise_id__in=wanted[start : start + 5000])
    return found


# Drafts ------------------------------------------------------------------------------------
def _validate(notice: Notice, *, now: dt.datetime) -> None:
    errors: dict[str, list[str]] = {}
    if notice.kind not in NoticeKind.values:
        errors["kind"] = [_("Choose the kind of notice.")]
    if not notice.title.strip():
        errors["title"] = [_("Give the notice a title.")]
    if not notice.reason.strip():
        errors["reason"] = [_("Give the reason.")]
    if notice.starts_at and notice.expected_end_at and notice.expected_end_at <= notice.starts_at:
        errors["expected_end_at"] = [_("The expected end must be after the start.")]
    errors.update(area_errors(notice))
    if errors:
        raise NoticeError(errors)


def _late(notice: Notice, now: dt.datetime) -> bool:
    return rules.is_late(notice.kind, now=now, starts_at=notice.starts_at)


def _aware(value: Any, name: str) -> dt.datetime:
    if not isinstance(value, dt.datetime) or value.tzinfo is None:
        raise NoticeError({name: [_("A date and time with its time zone.")]})
    return value


def _apply(notice: Notice, fields: dict[str, Any]) -> None:
    for name, value in fields.items():
        if name not in EDITABLE:
            raise NoticeError({name: [_("This field cannot be changed here.")]})
        if name in ("starts_at", "expected_end_at"):
            value = _aware(value, name)
        elif isinstance(value, str):
            value = value.strip()
        setattr(notice, name, value)


@transaction.atomic
def notice_create(*, actor: Any, **fields: Any) -> Notice:
    """A new draft notice (notices.draft)."""
    check(actor, "notices.draft")
    now = clock.now()
    notice = Notice(created_at=now, updated_at=now, created_by=user_of(actor))
    for required in ("kind", "title", "area_source", "starts_at", "expected_end_at", "reason"):
        if required not in fields:
            fields.setdefault(required, "" if "_at" not in required else None)
    starts, ends = fields.pop("starts_at"), fields.pop("expected_end_at")
    if starts is None or ends is None:
        raise NoticeError({"starts_at": [_("Give the start and the expected end.")]})
    _apply(notice, {**fields, "starts_at": starts, "expected_end_at": ends})
    _validate(notice, now=now)
    notice.number = f"tmp-{uuid.uuid4().hex[:12]}"
    notice.save()
    local = now.astimezone(clock.SHANGHAI)
    notice.number = f"TS{local:%Y%m%d}{notice.pk:04d}"
    notice.save(update_fields=["number"])
    audit_record(actor=actor, action="notices.create", obj=notice, after=_snapshot(notice))
    return notice


def _locked(notice: Notice) -> Notice:
    return Notice.objects.select_for_update().get(pk=notice.pk)


@transaction.atomic
def notice_edit(*, actor: Any, notice: Notice, **fields: Any) -> Notice:
    """Change a draft (or a notice sent back for changes)."""
    check(actor, "notices.draft")
    notice = _locked(notice)
    if notice.status != NoticeStatus.DRAFT:
        raise NoticeError(_("Only a draft can be edited; publish an update instead."))
    before = _snapshot(notice)
    _apply(notice, fields)
    _validate(notice, now=clock.now())
    notice.updated_at = clock.now()
    notice.save()
    audit_record(
        actor=actor, action="notices.edit", obj=notice, before=before, after=_snapshot(notice)
    )
    return notice


@transaction.atomic
def notice_submit(*, actor: Any, notice: Notice, late_reason: str = "") -> Notice:
    """Ask a supervisor to approve the draft. A notice later than its kind's lead time
    (planned: 24 hours) needs a reason."""
    check(actor, "notices.draft")
    notice = _locked(notice)
    if notice.status != NoticeStatus.DRAFT:
        raise NoticeError(_("Only a draft can be submitted."))
    now = clock.now()
    if late_reason.strip():
        notice.late_reason = late_reason.strip()[:300]
    _validate(notice, now=now)
    if _late(notice, now) and not notice.late_reason:
        hours = rules.kind_rule(notice.kind).lead_hours
        raise NoticeError(
            {
                "late_reason": [
                    _(
                        "A %(kind)s must be published at least %(hours)s hours before it "
                        "starts: give the reason for the late notice."
                    )
                    % {"kind": notice.get_kind_display(), "hours": f"{hours:g}"}
                ]
            }
        )
    notice.status = NoticeStatus.SUBMITTED
    notice.updated_at = now
    notice.save()
    audit_record(actor=actor, action="notices.submit", obj=notice, after=_snapshot(notice))
    return notice


@transaction.atomic
def notice_reject(*, actor: Any, notice: Notice, note: str) -> Notice:
    """Send a submitted notice back to its author for changes."""
    check(actor, "notices.approve")
    notice = _locked(notice)
    if notice.status != NoticeStatus.SUBMITTED:
        raise NoticeError(_("Only a submitted notice can be sent back."))
    if not note.strip():
        raise NoticeError({"note": [_("Say what must change.")]})
    notice.status = NoticeStatus.DRAFT
    notice.updated_at = clock.now()
    notice.save()
    audit_record(actor=actor, action="notices.reject", obj=notice, note=note.strip()[:300])
    return notice


@transaction.atomic
def notice_approve(*, actor: Any, notice: Notice, accept_late: bool = False) -> NoticeVersion:
    """A supervisor approves a submitted notice: it is published (version 1), its
    recipients frozen and its messages queued. A late planned notice needs
    `accept_late=True`: the supervisor's approval of the late notice is on the record."""
    check(actor, "notices.approve")
    notice = _locked(notice)
    if notice.status != NoticeStatus.SUBMITTED:
        raise NoticeError(_("Only a submitted notice can be approved."))
    now = clock.now()
    _validate(notice, now=now)
    if _late(notice, now):
        if not notice.late_reason:
            raise NoticeError({"late_reason": [_("A late notice needs a reason.")]})
        if not accept_late:
            raise NoticeError(
                {
                    "accept_late": [
                        _("The notice is late for its kind: confirm that you approve it late.")
                    ]
                }
            )
        notice.late_approved_by = user_of(actor)
    notice.status = NoticeStatus.PUBLISHED
    notice.approved_by = user_of(actor)
    notice.published_at = now
    notice.updated_at = now
    version = _freeze(notice, event=VersionEvent.PUBLISHED, actor=actor)
    notice.save()
    audit_record(
        actor=actor,
        action="notices.publish",
        obj=notice,
        after={**_snapshot(notice), "accounts": version.accounts, "messages": version.messages},
        note=notice.late_reason if notice.late_approved_by_id else "",
    )
    return version


@transaction.atomic
def notice_update(*, actor: Any, notice: Notice, note: str, **fields: Any) -> NoticeVersion:
    """Publish a change (extended, partly restored, a new expected end…): a new version
    with the recipients of the area as it is now, and its messages."""
    check(actor, "notices.approve")
    notice = _locked(notice)
    if notice.status != NoticeStatus.PUBLISHED:
        raise NoticeError(_("Only a published notice can be updated."))
    if not note.strip():
        raise NoticeError({"note": [_("Say what changed.")]})
    before = _snapshot(notice)
    _apply(notice, fields)
    if "area_text" not in fields and any(k in fields for k in ("area", "pipe", "area_source")):
        notice.area_text = ""
    _validate(notice, now=clock.now())
    notice.updated_at = clock.now()
    version = _freeze(notice, event=VersionEvent.UPDATED, actor=actor, note=note)
    notice.save()
    audit_record(
        actor=actor,
        action="notices.update",
        obj=notice,
        before=before,
        after=_snapshot(notice),
        note=note.strip()[:300],
    )
    return version


@transaction.atomic
def notice_restore(*, actor: Any, notice: Notice, note: str = "") -> NoticeVersion:
    """Supply is back: a last version tells everyone in the area."""
    check(actor, "notices.approve")
    notice = _locked(notice)
    if notice.status != NoticeStatus.PUBLISHED:
        raise NoticeError(_("Only a published notice can be restored."))
    now = clock.now()
    notice.status = NoticeStatus.RESTORED
    notice.restored_at = now
    notice.updated_at = now
    version = _freeze(notice, event=VersionEvent.RESTORED, actor=actor, note=note)
    notice.save()
    audit_record(actor=actor, action="notices.restore", obj=notice, after=_snapshot(notice))
    return version


@transaction.atomic
def notice_close(*, actor: Any, notice: Notice) -> Notice:
    """File a restored notice away (no message)."""
    check(actor, "notices.approve")
    notice = _locked(notice)
    if notice.status != NoticeStatus.RESTORED:
        raise NoticeError(_("Only a restored notice can be closed."))
    notice.status = NoticeStatus.CLOSED
    notice.closed_at = notice.updated_at = clock.now()
    notice.save()
    audit_record(actor=actor, action="notices.close", obj=notice)
    return notice


# Hotline -----------------------------------------------------------------------------------
@transaction.atomic
def notice_call_record(
    *,
    actor: Any,
    notice: Notice,
    call: Any = None,
    phone: str = "",
    customer: Any = None,
) -> NoticeCall:
    """ "已告知停水": the caller was told about an active notice. The contact (the call's,
    or a new one) is linked to the notice; no case is made. The notice counts it."""
    from qingquan.tickets.models import Channel
    from qingquan.tickets.services import contact_insert

    check(actor, "console.use")
    notice = _locked(notice)
    if notice.status not in (NoticeStatus.PUBLISHED, NoticeStatus.RESTORED):
        raise NoticeError(_("The notice is not active."))
    contact = getattr(call, "contact", None) if call is not None else None
    if contact is None:
        contact = contact_insert(
            actor=actor,
            channel=Channel.PHONE,
            from_address=phone or (getattr(call, "from_number", "") if call else ""),
            customer=customer if customer is not None else getattr(call, "customer", None),
            note=_("Told about notice %(number)s") % {"number": notice.number},
        )
    try:
        with transaction.atomic():
            record = NoticeCall.objects.create(
                notice=notice, version=notice.version, contact=contact, at=clock.now()
            )
    except IntegrityError:
        return NoticeCall.objects.get(contact=contact)
    Notice.objects.filter(pk=notice.pk).update(calls=F("calls") + 1)
    audit_record(actor=actor, action="notices.call", obj=notice, after={"contact": contact.pk})
    return record


# Subscriptions -----------------------------------------------------------------------------
@transaction.atomic
def subscription_create(
    *, actor: Any, premise: Premise, channel: str, address: str
) -> Subscription:
    """Subscribe an address to the notices of a premise."""
    from qingquan.core.validation import clean_email

    check(actor, "notices.subscriptions")
    if channel not in SubscriptionChannel.values:
        raise NoticeError({"channel": [_("Choose SMS, WeChat or e-mail.")]})
    address = address.strip()
    if channel == SubscriptionChannel.SMS:
        from qingquan.customers import phones

        try:
            address = phones.normalise(address)[0]
        except ValidationError as exc:
            raise NoticeError({"address": exc.messages}) from exc
    elif channel == SubscriptionChannel.EMAIL:
        try:
            address = clean_email(address, field="address")
        except ValidationError as exc:
            raise NoticeError({"address": exc.messages}) from exc
    elif (
        not address or len(address) > 64 or not address.replace("-", "").replace("_", "").isalnum()
    ):
        raise NoticeError({"address": [_("A WeChat openid: letters, digits, - and _.")]})
    sub, created = Subscription.objects.get_or_create(
        premise=premise, channel=channel, address=address, defaults={"created_at": clock.now()}
    )
    if created:
        audit_record(actor=actor, action="notices.subscribe", obj=sub, after=sub.as_dict())
    return sub


@transaction.atomic
def subscription_delete(*, actor: Any, subscription: Subscription) -> None:
    check(actor, "notices.subscriptions")
    audit_record(
        actor=actor, action="notices.unsubscribe", obj=subscription, before=subscription.as_dict()
    )
    subscription.delete()
