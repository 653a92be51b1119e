"""Clients, keys and subscriptions: what administrators write from the back office."""

from __future__ import annotations

import secrets
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from qingquan.core import clock
from qingquan.core.actors import require_actor
from qingquan.core.audit import audit_record
from qingquan.partners.errors import (
    Forbidden,
)
from qingquan.partners.models import (
    ApiKey,
    PartnerClient,
    Scope,
    Subscription,
    WebhookEvent,
    hash_key,
    new_key_material,
)
from qingquan.staff.access import can
from qingquan.tickets.errors import InvalidInput
from qingquan.tickets.models import Channel

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
