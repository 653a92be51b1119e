"""Every change to a case goes through these functions: one service per transition.

Each service runs in one transaction, locks the case row, checks the version the caller
read (optimistic locking: a stale version raises `StaleVersion`, so two simultaneous
changes never silently overwrite each other), checks that the state allows the step and
that the actor may take it, then writes the case, a `TicketEvent` for the timeline and an
audit event. Notifications and background work are queued with `transaction.on_commit`.

`actor` is explicit (`core.actors`): a staff user, a partner client (`PartnerActor`) or
the system (`SYSTEM` / `system(job)`: the sweep, a parent case resolving its children);
`None` is a TypeError. Who may take a step is the table in `tickets.rules`; a refusal is
`NotAllowed`, the platform's one access error. A `version=None` skips the version check
(for the system and partner callers, who act on the case as it is).

Reopening rule: a reopened case goes back to its owner at the hotline with a fresh
resolution budget counted from the reopening, so it is not escalated at once; the first
breach stays on the case (`breached_at`), and a case that was ever overdue never counts
as on time.

The package, by concern (callers import from `qingquan.tickets.services`):
- `intake`: `ticket_create` (and `ticket_open`, which answers the "create" entry too),
  with the day's case number (`core.db.numbering`);
- `contacts`: `contact_record`, `contact_insert`, `contact_end`, `contact_link`;
- `handoffs`: dispatch, transfer, accept, arrive, return;
- `resolution`: resolve, callback, close, reopen;
- `pauses`: pause, resume, extension request and decision, clock refresh;
- `supervision`: escalate, remind, change owner, merge;
- `base`: the plumbing they share (lock, commit, timers, input cleaning, notifications).
"""

from __future__ import annotations

from qingquan.tickets.rules import allowed_actions
from qingquan.tickets.services.base import handlers_of
from qingquan.tickets.services.contacts import (
    contact_end,
    contact_insert,
    contact_link,
    contact_record,
)
from qingquan.tickets.services.handoffs import (
    ticket_accept,
    ticket_arrive,
    ticket_dispatch,
    ticket_return,
    ticket_transfer,
)
from qingquan.tickets.services.intake import Opened, ticket_create, ticket_open
from qingquan.tickets.services.pauses import (
    ticket_extension_decide,
    ticket_extension_request,
    ticket_pause,
    ticket_refresh_clock,
    ticket_resume,
)
from qingquan.tickets.services.resolution import (
    ticket_callback_record,
    ticket_close,
    ticket_reopen,
    ticket_resolve,
)
from qingquan.tickets.services.supervision import (
    ticket_change_owner,
    ticket_escalate,
    ticket_merge,
    ticket_remind,
)

__all__ = [
    "Opened",
    "allowed_actions",
    "contact_end",
    "contact_insert",
    "contact_link",
    "contact_record",
    "handlers_of",
    "ticket_accept",
    "ticket_arrive",
    "ticket_callback_record",
    "ticket_change_owner",
    "ticket_close",
    "ticket_create",
    "ticket_dispatch",
    "ticket_escalate",
    "ticket_extension_decide",
    "ticket_extension_request",
    "ticket_merge",
    "ticket_open",
    "ticket_pause",
    "ticket_refresh_clock",
    "ticket_remind",
    "ticket_reopen",
    "ticket_resolve",
    "ticket_resume",
    "ticket_return",
    "ticket_transfer",
]
