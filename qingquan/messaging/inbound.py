"""Messages from the public that arrive through a gateway (SMS replies pushed to us;
Weibo and Alipay life-account messages taken by the poller): each recorded
once per the gateway's message id, then handled in the same transaction:

- "T" / "TD" / "退订" unsubscribes the number (退订);
- "1" / "2" / "3" (or 满意 / 基本满意 / 不满意) from a number that was sent a callback
  survey SMS answers that callback (through the surveys services, on the case);
- anything else becomes a contact (the customer found by the number, the callback's case
  linked when there is one) that an agent reads and answers in the messages inbox.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from qingquan.core import clock
from qingquan.core.actors import require_actor, system, user_of
from qingquan.core.audit import audit_record
from qingquan.core.db import fastinsert
from qingquan.messaging.models import Handling, Inbound, InboundChannel, InboundKind
from qingquan.messaging.services import Outgoing, messages_queue, optout_set

ACTOR = system("messaging")
UNSUBSCRIBE_WORDS = {"T", "TD", "N", "退订", "取消"}
MAX_TEXT = 2000
ANSWER_SOURCE = "messaging.answer"


class InboxError(ValueError):
    """A refusal to show the agent (translated message)."""


@dataclass(frozen=True)
class Arrived:
    """One message as a gateway reported it."""

    channel: str
    provider_id: str
    sender: str
    text: str
    at: dt.datetime | None = None
    kind: str = InboundKind.MESSAGE  # Weibo: a private message or a mention
    sender_name: str = ""


def _customer_of(phone: str) -> Any:
    from qingquan.customers import phones
    from qingquan.customers.models import CustomerPhone

    found = phones.try_normalise(phone)
    if found is None:
        return None
    row = (
        CustomerPhone.objects.filter(national_digits=found[1])
        .select_related("customer")
        .order_by("-is_primary", "pk")
        .first()
    )
    return row.customer if row else None


def _contact(inbound: Inbound, task: Any) -> Any:
    from qingquan.tickets.services import contact_insert

    ticket = task.ticket if task is not None else None
    return contact_insert(
        actor=ACTOR,
        channel=inbound.channel,
        from_address=inbound.sender,
        started_at=inbound.received_at,
        customer=(
            ticket.customer
            if ticket is not None
            else _customer_of(inbound.sender)
            if inbound.channel == InboundChannel.SMS
            else None
        ),
        note=inbound.text,
        tickets=[ticket] if ticket is not None else [],
    )


def _handle(inbound: Inbound) -> None:
    from qingquan.surveys import services as surveys

    word = inbound.text.strip().upper()
    if inbound.channel == InboundChannel.SMS and word in UNSUBSCRIBE_WORDS:
        optout_set(actor=ACTOR, channel="sms", address=inbound.sender, how="reply")
        inbound.handled_as = Handling.OPTOUT
        return
    task = surveys.callback_for_sms(inbound.sender) if inbound.channel == "sms" else None
    outcome = surveys.sms_answer_of(inbound.text) if task is not None else ""
    if task is not None and outcome:
        surveys.callback_sms_answer(task=task, outcome=outcome)
        inbound.handled_as = Handling.SURVEY
        inbound.callback = task
        return
    inbound.handled_as = Handling.CONTACT
    inbound.callback = task
    inbound.contact = _contact(inbound, task)


def inbound_receive(*, message: Arrived) -> tuple[Inbound, bool]:
    """Record and handle one message from the public; returns it and whether it is new.
    A repeat of a gateway message id (the gateway pushes again) changes nothing."""
    if message.channel not in InboundChannel.values or not message.provider_id:
        raise InboxError(_("A message needs a channel and the gateway's message id."))
    sender = message.sender.strip()[:200]
    if message.channel == InboundChannel.SMS:
        from qingquan.customers import phones

        found = phones.try_normalise(sender[:20])
        if found is None:
            raise InboxError(_("Not a phone number: %(n)s") % {"n": sender[:20]})
        sender = found[0]
    elif not sender:
        raise InboxError(_("A message needs its sender."))
    key = {"channel": message.channel, "provider_id": message.provider_id.strip()[:80]}
    with transaction.atomic():
        # A repeat is not inserted (ON CONFLICT DO NOTHING): no error in the database's
        # log and no savepoint for each message of the gateway's redeliveries.
        inbound = fastinsert.create(
            Inbound(
                **key,
                sender=sender,
                sender_name=message.sender_name.strip()[:100],
                kind=message.kind if message.kind in InboundKind.values else "message",
                text=message.text.strip()[:MAX_TEXT],
                received_at=message.at or clock.now(),
                handled_as=Handling.CONTACT,
            ),
            skip_conflict=True,
        )
        if inbound is None:
            return Inbound.objects.get(**key), False
        _handle(inbound)
        inbound.save(update_fields=["handled_as", "callback", "contact"])
        audit_record(
            actor=ACTOR,
            action="messaging.inbound",
            obj=inbound,
            after={"channel": inbound.channel, "handled_as": inbound.handled_as},
        )
    return inbound, True


@transaction.atomic
def inbound_answer(*, actor: Any, inbound: Inbound, text: str) -> Inbound:
    """An agent answers a message (the answer goes out on the message's channel through
    the outbox) or, with no text, marks it as needing no answer. Answered once."""
    require_actor(actor)
    inbound = Inbound.objects.select_for_update().get(pk=inbound.pk)
    if inbound.handled_as != Handling.CONTACT:
        raise InboxError(_("This message was handled automatically."))
    if inbound.answered_at is not None:
        raise InboxError(_("This message was already answered."))
    text = (text or "").strip()
    if len(text) > 500:
        raise InboxError(_("An answer may be at most 500 characters."))
    inbound.answer = text
    inbound.answered_at = clock.now()
    inbound.answered_by = user_of(actor)
    inbound.save(update_fields=["answer", "answered_at", "answered_by"])
    if text:
        messages_queue(
            source=ANSWER_SOURCE,
            source_id=inbound.pk,
            urgent=False,
            messages=[
                Outgoing(
                    channel=inbound.channel,
                    to=inbound.sender,
                    template="agent_answer",
                    body=text,
                    params={"text": text, "reply_to": inbound.provider_id, "kind": inbound.kind},
                )
            ],
        )
    audit_record(
        actor=actor,
        action="messaging.answer",
        obj=inbound,
        after={"answered": bool(text)},
    )
    return inbound
