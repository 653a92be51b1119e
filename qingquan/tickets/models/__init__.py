"""Cases (工单), the contacts that open them, and their time limits.

State changes happen only in `qingquan.tickets.services` (one service per transition);
the models hold the rules about one record (which transitions a state allows, how a
policy becomes an SLA clock) and the reusable filters.

The package, by concern (every model is imported here, so callers and migrations keep
`qingquan.tickets.models`):
- `kinds`: channels, priorities, case kinds and time-limit policies, counters;
- `cases`: the case, its states and querysets;
- `timeline`: pauses, timeline entries, extension requests;
- `contacts`: contacts.
"""

from __future__ import annotations

from qingquan.tickets.models.cases import (
    DONE_STATES,
    OPEN_STATES,
    CallbackOutcome,
    PauseReason,
    SlaState,
    Ticket,
    TicketQuerySet,
    TicketState,
    late_in,
    on_time_in,
)
from qingquan.tickets.models.contacts import Contact, ContactOutcome
from qingquan.tickets.models.kinds import (
    CaseKind,
    Channel,
    ClockKindChoice,
    DayCounter,
    KindsVersion,
    Priority,
    SlaPolicy,
    parse_schedule,
)
from qingquan.tickets.models.timeline import (
    ACTION_LABELS,
    TicketEvent,
    TicketExtension,
    TicketPause,
)

__all__ = [
    "ACTION_LABELS",
    "DONE_STATES",
    "OPEN_STATES",
    "CallbackOutcome",
    "CaseKind",
    "Channel",
    "ClockKindChoice",
    "Contact",
    "ContactOutcome",
    "DayCounter",
    "KindsVersion",
    "PauseReason",
    "Priority",
    "SlaPolicy",
    "SlaState",
    "Ticket",
    "TicketEvent",
    "TicketExtension",
    "TicketPause",
    "TicketQuerySet",
    "TicketState",
    "late_in",
    "on_time_in",
    "parse_schedule",
]
