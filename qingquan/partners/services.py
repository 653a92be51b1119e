"""Writes of the open APIs: clients and keys, idempotent case intake, partner steps.

Cases from partners are received by `qingquan.tickets.services.ticket_create` as the
partner client (`core.actors.PartnerActor`, recorded as such in the audit log) with a
contact recorded on the client's channel whose agent is the client's integration inbox
owner, so that owner is the case's first-contact owner
(首问责任制) until a supervisor re-assigns it (docs/api.md, "Who owns partner cases").
"""

from __future__ import annotations

import contextvars
import dataclasses
import datetime as dt
import json
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from qingquan.core import clock, validation
from qingquan.core.actors import PartnerActor, require_actor
from qingquan.core.audit import audit_record
from qingquan.core.db import fastinsert, locks
from qingquan.core.notifications import notify
from qingquan.partners.errors import (
    Forbidden,
    IdempotencyConflict,
    NotFound,
    PartnerError,
    RateLimited,
)
from qingquan.partners.models import (
    ApiKey,
    IdempotencyRecord,
    PartnerCase,
    PartnerClient,
    RateWindow,
    Scope,
    Subscription,
    WebhookEvent,
    hash_key,
    new_key_material,
)
from qingquan.staff.access import can
from qingquan.tickets import reference
from qingquan.tickets import services as ticket_services
from qingquan.tickets.errors import InvalidInput
from qingquan.tickets.models import CaseKind, Channel, Ticket

RATE_WINDOW_SECONDS = 60

# ---------------------------------------------------------------------------
# Clients, keys, subscriptions (administrators, from the back office)
# ---------------------------------------------------------------------------


def check_client_fields(*, channel: str, scopes: list[str], intake_owner: Any) -> None:
    """The rules of a client record (channel, scopes, a case-owning inbox owner)."""
    if channel not in Channel.values:
        raise InvalidInput(_("Unknown channel %(channel)s.") % {"channel": channel})
    unknown = sorted(set(scopes) - set(Scope.values))
    if unknown:
        raise InvalidInput(_("Unknown scopes: %(scopes)s.") % {"scopes": ", ".join(unknown)})
    owner = intake_owner
    if owner is None or not owner.is_active or not can(owner, "tickets.create"):
        raise InvalidInput(
            _("The integration inbox owner must be an active staff member who may open cases.")
        )


def _require_manage(actor: Any) -> None:
    if not can(require_actor(actor), "partners.manage"):
        raise Forbidden(_("Your role may not manage partner clients (partners.manage)."))


def _client_state(client: PartnerClient) -> dict[str, Any]:
    return {
        "code": client.code,
        "name": client.name,
        "channel": client.channel,
        "scopes": list(client.scopes),
        "intake_owner": client.intake_owner_id,
        "rate_limit_per_minute": client.rate_limit_per_minute,
        "is_active": client.is_active,
    }


@transaction.atomic
def partner_client_create(
    *,
    actor: Any,
    code: str,
    name: str,
    channel: str,
    scopes: list[str],
    intake_owner: Any,
    rate_limit_per_minute: int = 120,
    is_active: bool = True,
) -> tuple[PartnerClient, str]:
    """Register a partner system and issue its first API key.

    Returns the client and the key's plaintext, which is shown once and never stored.
    """
    _require_manage(actor)
    check_client_fields(channel=channel, scopes=scopes, intake_owner=intake_owner)
    code, name = (code or "").strip(), (name or "").strip()
    if not code or not name:
        raise InvalidInput(_("A partner client needs a code and a name."))
    if PartnerClient.objects.filter(code=code).exists():
        raise InvalidInput(_("A partner client with code %(code)s exists.") % {"code": code})
    if rate_limit_per_minute < 1:
        raise InvalidInput(_("Allow at least one request per minute."))
    client = PartnerClient.objects.create(
        code=code,
        name=name,
        channel=channel,
        scopes=sorted(set(scopes)),
        intake_owner=intake_owner,
        rate_limit_per_minute=rate_limit_per_minute,
        is_active=is_active,
        created_at=clock.now(),
    )
    audit_record(
        actor=actor, action="partners.client_create", obj=client, after=_client_state(client)
    )
    _key, plaintext = api_key_issue(actor=actor, client=client, label=_("first key"))
    return client, plaintext


@transaction.atomic
def partner_client_update(*, actor: Any, client: PartnerClient, **changes: Any) -> PartnerClient:
    """Change a client's name, channel, scopes, inbox owner, rate limit or active flag."""
    _require_manage(actor)
    allowed = {"name", "channel", "scopes", "intake_owner", "rate_limit_per_minute", "is_active"}
    unknown = set(changes) - allowed
    if unknown:
        raise InvalidInput(_("These fields cannot be changed: %(f)s.") % {"f": ", ".join(unknown)})
    locked = PartnerClient.objects.select_for_update().get(pk=client.pk)
    before = _client_state(locked)
    for field, value in changes.items():
        setattr(locked, field, value)
    check_client_fields(
        channel=locked.channel, scopes=list(locked.scopes), intake_owner=locked.intake_owner
    )
    if locked.rate_limit_per_minute < 1:
        raise InvalidInput(_("Allow at least one request per minute."))
    locked.scopes = sorted(set(locked.scopes))
    locked.save()
    audit_record(
        actor=actor,
        action="partners.client_update",
        obj=locked,
        before=before,
        after=_client_state(locked),
    )
    return locked


@transaction.atomic
def api_key_issue(*, actor: Any, client: PartnerClient, label: str = "") -> tuple[ApiKey, str]:
    """Issue a new key for `client`; returns the key record and its plaintext (shown once)."""
    _require_manage(actor)
    prefix, plaintext = new_key_material()
    key = ApiKey.objects.create(
        client=client,
        prefix=prefix,
        key_hash=hash_key(plaintext),
        label=str(label)[:80],
        created_at=clock.now(),
    )
    audit_record(
        actor=actor,
        action="partners.key_issue",
        obj=client,
        after={"prefix": prefix, "label": key.label},
    )
    return key, plaintext


@transaction.atomic
def api_key_revoke(*, actor: Any, key: ApiKey) -> ApiKey:
    """Revoke a key: every later request with it answers 401."""
    _require_manage(actor)
    key = ApiKey.objects.select_for_update().get(pk=key.pk)
    if key.revoked_at is None:
        key.revoked_at = clock.now()
        key.save(update_fields=["revoked_at"])
        audit_record(
            actor=actor, action="partners.key_revoke", obj=key.client, after={"prefix": key.prefix}
        )
    return key


@transaction.atomic
def subscription_save(
    *,
    actor: Any,
    client: PartnerClient,
    url: str,
    events: list[str],
    secret: str = "",
    is_active: bool = True,
    subscription: Subscription | None = None,
) -> Subscription:
    """Create or change a webhook subscription (a secret is generated when none is given)."""
    _require_manage(actor)
    from django.core.exceptions import ValidationError
    from django.core.validators import URLValidator

    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        raise InvalidInput(_("Give the webhook's full http(s) URL.")) from None
    unknown = sorted(set(events) - set(WebhookEvent.values))
    if not events or unknown:
        raise InvalidInput(_("Choose events among: %(e)s.") % {"e": ", ".join(WebhookEvent.values)})
    before = None
    if subscription is None:
        subscription = Subscription(client=client, created_at=clock.now())
    else:
        subscription = Subscription.objects.select_for_update().get(pk=subscription.pk)
        before = {
            "url": subscription.url,
            "events": subscription.events,
            "active": subscription.is_active,
        }
    subscription.url = url
    subscription.events = sorted(set(events))
    subscription.is_active = is_active
    subscription.secret = secret or subscription.secret or secrets.token_urlsafe(32)
    subscription.save()
    audit_record(
        actor=actor,
        action="partners.subscription_save",
        obj=subscription,
        before=before,
        after={"url": url, "events": subscription.events, "active": is_active},
    )
    return subscription


# ---------------------------------------------------------------------------
# Authentication and rate limits (every partner request)
# ---------------------------------------------------------------------------


AUTH_CACHE_SECONDS = 10.0
_auth_cache: dict[str, tuple[float, ApiKey]] = {}
_auth_lock = threading.Lock()


def forget_keys(**_kwargs: Any) -> None:
    """Drop this process's cached keys (a key, client or user was saved or deleted)."""
    with _auth_lock:
        _auth_cache.clear()


def _key_for(token: str, digest: str) -> ApiKey | None:
    """The key row for `token` with its client and inbox owner, cached per process for
    AUTH_CACHE_SECONDS (cleared in this process by any save of a key, client or user:
    `signals.py`); another process sees a revocation within that time."""
    now = time.monotonic()
    with _auth_lock:
        cached = _auth_cache.get(digest)
    if cached is not None and cached[0] > now:
        return cached[1]
    parts = token.split("_")
    key = (
        ApiKey.objects.select_related("client", "client__intake_owner")
        .filter(prefix=parts[1])
        .first()
    )
    if key is None or not secrets.compare_digest(key.key_hash, digest):
        return None
    with _auth_lock:
        if len(_auth_cache) > 1000:
            _auth_cache.clear()
        _auth_cache[digest] = (now + AUTH_CACHE_SECONDS, key)
    return key


def authenticate(token: str) -> ApiKey | None:
    """The usable key whose plaintext is `token` (active client, not revoked), or None."""
    token = (token or "").strip()
    parts = token.split("_")
    if len(parts) < 3 or parts[0] != "qq":
        return None
    key = _key_for(token, hash_key(token))
    if key is None or key.revoked_at is not None or not key.client.is_active:
        return None
    now = clock.now()
    if key.last_used_at is None or now - key.last_used_at > dt.timedelta(minutes=1):
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


# key prefix → [window, pending, last known count, last flush] (prefixes are random: a
# rolled-back key's state never passes to another)
_windows: dict[str, list[float]] = {}
_windows_lock = threading.Lock()
FLUSH_SECONDS = 1.0


def rate_limit_hit(*, key: ApiKey, now: dt.datetime | None = None) -> None:
    """Count one request on `key` in the current fixed one-minute window.

    Raises RateLimited (429, with the seconds until the window ends) past the client's
    limit. The counter is a row per (key, window), so every process of the platform
    shares it. Under a limit of fewer than 200 a minute every request is added to it at
    once (exact); above, a process adds its requests in batches of up to 1 % of the limit
    or once a second (decision 0009): a key then gets at most 1 % more per process, and
    the shared row is written once per batch instead of once per request.
    """
    now = now or clock.now()
    stamp = int(now.timestamp())
    window = stamp // RATE_WINDOW_SECONDS
    limit = key.client.rate_limit_per_minute
    batch = limit // 100
    if batch < 2:
        count = _count_request(key_id=key.pk, window=window)
        first = count == 1
    else:
        tick = time.monotonic()
        with _windows_lock:
            state = _windows.get(key.prefix)
            if state is None or state[0] != window:
                state = _windows[key.prefix] = [window, 0, 0, tick]
            state[1] += 1
            count = int(state[2] + state[1])
            flush = state[1] >= batch or tick - state[3] >= FLUSH_SECONDS or count > limit
            pending = int(state[1]) if flush else 0
            if flush:
                state[1], state[3] = 0, tick
        first = False
        if pending:
            count = _count_request(key_id=key.pk, window=window, n=pending)
            first = count == pending
            with _windows_lock:
                if state[0] == window:
                    state[2] = max(state[2], count)
                count = int(state[2] + state[1])
    if first:
        # A new window: yesterday's are of no use any more.
        RateWindow.objects.filter(key=key, window__lt=window - 1440).delete()
    if count > limit:
        retry_after = RATE_WINDOW_SECONDS - stamp % RATE_WINDOW_SECONDS
        raise RateLimited(
            _("Too many requests: at most %(n)s a minute per key.") % {"n": limit},
            retry_after=retry_after,
        )


def _count_request(*, key_id: int, window: int, n: int = 1) -> int:
    """Add `n` to the (key, window) counter and return it, in one upsert: two requests
    opening a window at once never meet a duplicate-key error."""
    table = RateWindow._meta.db_table
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (key_id, {quote('window')}, count) VALUES (%s, %s, %s) "  # noqa: S608 (the model's own table and column)
            f"ON CONFLICT (key_id, {quote('window')}) DO UPDATE "
            f"SET count = {table}.count + EXCLUDED.count RETURNING count",
            [key_id, window, n],
        )
        return int(cursor.fetchone()[0])


def require_scope(client: PartnerClient, scope: str) -> None:
    if not client.has_scope(scope):
        raise Forbidden(_("This client may not do this (scope %(scope)s).") % {"scope": scope})


# ---------------------------------------------------------------------------
# Idempotent creation
# ---------------------------------------------------------------------------


def request_hash(payload: Any) -> str:
    """A stable hash of a request body (keys sorted), to spot a reused idempotency key."""
    return hash_key(json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str))


_in_idempotent: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "partners_in_idempotent", default=False
)


def idempotent(
    *,
    client: PartnerClient,
    key: str,
    payload: Any,
    create: Callable[[], tuple[int, Any]],
) -> tuple[int, Any, bool]:
    """Run `create` once per (client, idempotency key); returns (status, body, replayed).

    The key's row is inserted first, in the same transaction as the creation, so a
    concurrent retry waits on the unique index (PostgreSQL) or the write lock (SQLite)
    and then finds the stored answer. The same key with a different body answers 422.
    A creation that fails stores nothing: a retry runs it again.
    """
    key = (key or "").strip()
    if not key or len(key) > 200:
        raise PartnerError(
            _("Send an Idempotency-Key header (1 to 200 characters) with every create."),
            code="idempotency_key_missing",
        )
    digest = request_hash(payload)
    table = IdempotencyRecord._meta.db_table
    with transaction.atomic():
        # Insert-or-find in one statement: a concurrent request with the same key waits on
        # the unique index until the first commits (then finds nothing inserted here) or
        # rolls back (then this one inserts). No duplicate-key error is raised or logged.
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (client_id, {connection.ops.quote_name('key')}, "  # noqa: S608 (the model's own table)
                "request_hash, status_code, response, created_at) "
                "VALUES (%s, %s, %s, 0, %s, %s) "
                f"ON CONFLICT (client_id, {connection.ops.quote_name('key')}) DO NOTHING "
                "RETURNING id",
                [client.pk, key, digest, "{}", clock.now()],
            )
            inserted = cursor.fetchone()
        if inserted is not None:
            # Inside this transaction an error rolls all of it back anyway: the creation
            # needs no savepoint of its own (two statements fewer).
            token = _in_idempotent.set(True)
            try:
                status, body = create()
            finally:
                _in_idempotent.reset(token)
            IdempotencyRecord.objects.filter(pk=inserted[0]).update(
                status_code=status, response=body
            )
            return status, body, False
    stored = IdempotencyRecord.objects.filter(client=client, key=key).first()
    if stored is None:  # the first request's creation failed and was rolled back meanwhile
        return idempotent(client=client, key=key, payload=payload, create=create)
    if stored.request_hash != digest:
        raise IdempotencyConflict(_("This Idempotency-Key was used with a different request body."))
    return stored.status_code, stored.response, True


# ---------------------------------------------------------------------------
# Cases from partners
# ---------------------------------------------------------------------------


IDEMPOTENCY_RETENTION = dt.timedelta(days=30)
DELIVERY_RETENTION = dt.timedelta(days=90)


def purge_old_records(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Delete idempotency records older than 30 days and delivered webhooks (with their
    attempt log) older than 90 days; failed deliveries stay for the administrators."""
    from qingquan.partners.models import Delivery, DeliveryStatus

    now = now or clock.now()
    keys, _ = IdempotencyRecord.objects.filter(created_at__lt=now - IDEMPOTENCY_RETENTION).delete()
    old = Delivery.objects.filter(
        status=DeliveryStatus.DELIVERED, delivered_at__lt=now - DELIVERY_RETENTION
    )
    deliveries, _ = old.delete()
    return {"idempotency_records": keys, "deliveries": deliveries}


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


def partner_case_create(
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
) -> tuple[PartnerCase, bool]:
    """Receive a case from a partner; returns (partner case, created).

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
            existing = PartnerCase.objects.filter(
                client=client, external_id=intake.external_id
            ).first()
            if existing is not None:
                return existing, False
        return _create_locked(client, intake), True


EXTERNAL_ID_LOCK = 0x5143_0000  # + client id: first key of an external id's advisory lock


def _create_locked(client: PartnerClient, intake: PartnerIntake) -> PartnerCase:
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
    ticket = _open_case(client, intake, owner=owner, account=account, now=now)
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
    _write_create_deliveries(ticket)
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
    return partner_case


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
) -> Ticket:
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
    return ticket_services.ticket_create(
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


def _write_create_deliveries(ticket: Ticket) -> None:
    """The case's "create" timeline entry becomes webhook deliveries in this transaction
    (signals.py leaves "create" entries to this intake, the only way a case becomes a
    partner's): committed with the case, or not at all."""
    # ticket_create keeps the entry it wrote on the case (no read back).
    created_entry = getattr(ticket, "_create_event", None)
    create_entry = (
        created_entry.pk
        if created_entry is not None
        else ticket.events.filter(action="create")
        .order_by("id")
        .values_list("pk", flat=True)
        .first()
    )
    if create_entry is not None:
        from qingquan.partners.webhooks import outbox_write

        outbox_write(event_id=create_entry, ticket_id=ticket.pk)


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
