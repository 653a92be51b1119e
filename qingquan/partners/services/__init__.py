"""Writes of the open APIs: clients and keys, idempotent case intake, partner steps.

Cases from partners are received by `qingquan.tickets.services.ticket_create` as the
partner client (`core.actors.PartnerActor`, recorded as such in the audit log) with a
contact recorded on the client's channel whose agent is the client's integration inbox
owner, so that owner is the case's first-contact owner
(首问责任制) until a supervisor re-assigns it (docs/api.md, "Who owns partner cases").

The package, by concern (callers import from `qingquan.partners.services`):
- `clients`: clients, keys, subscriptions (back office);
- `keys`: authentication and rate limits (every request);
- `idempotency`: `idempotent`, `request_hash`, `purge_old_records`;
- `intake`: `partner_case_receive` / `partner_case_create`, `kind_for_intake`;
- `steps`: `partner_case_note`, `partner_case_remind`, `partner_case_reopen`.
"""

from __future__ import annotations

from qingquan.partners.services.clients import (
    api_key_issue,
    api_key_revoke,
    check_client_fields,
    partner_client_create,
    partner_client_update,
    subscription_save,
)
from qingquan.partners.services.idempotency import (
    DELIVERY_RETENTION,
    IDEMPOTENCY_RETENTION,
    idempotent,
    purge_old_records,
    request_hash,
)
from qingquan.partners.services.intake import (
    EXTERNAL_ID_LOCK,
    PartnerIntake,
    Received,
    kind_for_intake,
    partner_case_create,
    partner_case_receive,
)
from qingquan.partners.services.keys import (
    AUTH_CACHE_SECONDS,
    FLUSH_SECONDS,
    RATE_WINDOW_SECONDS,
    authenticate,
    forget_keys,
    rate_limit_hit,
    require_scope,
)
from qingquan.partners.services.steps import (
    partner_case_note,
    partner_case_remind,
    partner_case_reopen,
)

__all__ = [
    "AUTH_CACHE_SECONDS",
    "DELIVERY_RETENTION",
    "EXTERNAL_ID_LOCK",
    "FLUSH_SECONDS",
    "IDEMPOTENCY_RETENTION",
    "RATE_WINDOW_SECONDS",
    "PartnerIntake",
    "Received",
    "api_key_issue",
    "api_key_revoke",
    "authenticate",
    "check_client_fields",
    "forget_keys",
    "idempotent",
    "kind_for_intake",
    "partner_case_create",
    "partner_case_note",
    "partner_case_receive",
    "partner_case_remind",
    "partner_case_reopen",
    "partner_client_create",
    "partner_client_update",
    "purge_old_records",
    "rate_limit_hit",
    "request_hash",
    "require_scope",
    "subscription_save",
]
