"""The per-case rules: one table saying, for each step, from which states, for whom and
under which condition of the case it may be taken.

The case page's buttons (`allowed_actions`) and every service (`authorize`) read this
table and nothing else, so a button is shown exactly when its service would accept the
step. To add a rule: add or edit a row of `RULES`; the tests in tests/test_rules.py walk
every row against its service.

A row holds:
- `states`: the states the step may start from (else `IllegalTransition`, 409);
- `capability`: a role capability the actor needs (else `NotAllowed`, 403);
- `who`: the actor's relation to the case, any of them suffices: "owner" (the first-contact
  owner, or a supervisor acting for the hotline) or "handler" (a member of the department
  or crew the case sits with, or a supervisor); empty means the capability is enough;
- `conditions`: facts about the case that must hold (e.g. the crew has not arrived yet),
  each with the message given when it does not (`IllegalTransition`). A condition reads
  the case's columns and a `Facts` (its pauses, extension requests and merged cases, read
  once per evaluation; a caller holding a case it has just created says so with
  `Facts(ticket, new=True)` and nothing is read).

The actor is explicit (`core.actors`; `None` is a TypeError). The system (`SYSTEM` or
`system(job)`: the sweep, a parent case resolving its children, automatic escalations)
skips the capability and `who` checks but not the states and conditions, which are facts.
A partner client (`PartnerActor`, on its own cases: the partner API finds only those) may
take only the steps of `PARTNER_STEPS`. Every refusal of who may act is `NotAllowed`, the
platform's one access error (`core.access.AccessDenied`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from qingquan.core import actors
from qingquan.staff.access import can
from qingquan.tickets.errors import IllegalTransition, NotAllowed
from qingquan.tickets.models import DONE_STATES, OPEN_STATES, Ticket, TicketExtension, TicketState

S = TicketState


def _staff(user: Any) -> bool:
    return user is not None and not isinstance(user, actors.SystemActor | actors.PartnerActor)


def is_owner_side(user: Any, ticket: Ticket) -> bool:
    """The owner, or a supervisor acting for the hotline."""
    return _staff(user) and (ticket.owner_id == user.pk or can(user, "tickets.supervise"))


def is_handler(user: Any, ticket: Ticket) -> bool:
    """A member of the department or crew the case currently sits with (or a supervisor)."""
    if not _staff(user):
        return False
    if can(user, "tickets.supervise"):
        return True
    if not can(user, "tickets.work"):
        return False
    if ticket.team_id is not None and user.team_id == ticket.team_id:
        return True
    return ticket.department_id is not None and user.department_id == ticket.department_id


RELATIONS: dict[str, Callable[[Any, Ticket], bool]] = {
    "owner": is_owner_side,
    "handler": is_handler,
}


class Facts:
    """What the rules read about a case beyond its own columns: whether its clock is
    paused, whether an extension request waits, whether other cases are merged into it.
    Each is asked of the database once, when a rule first needs it, and kept for the rest
    of one evaluation (`refusal`, `allowed_actions`).

    `new=True` says the case was created by the caller just now (`ticket_create`'s
    answer): it has none of them, and nothing is asked.
    """

    def __init__(self, ticket: Ticket, *, new: bool = False) -> None:
        self.ticket = ticket
        self.new = new

    @cached_property
    def paused(self) -> bool:
        """True while the case's clock is paused."""
        return not self.new and self.ticket.pauses.filter(ended_at__isnull=True).exists()

    @cached_property
    def extension_pending(self) -> bool:
        """True while an extension request of the case waits for a decision."""
        if self.new:
            return False
        pending = TicketExtension.Status.PENDING
        return self.ticket.extensions.filter(status=pending).exists()

    @cached_property
    def has_merged_cases(self) -> bool:
        """True when other cases are merged into this one."""
        return not self.new and self.ticket.children.exists()


@dataclass(frozen=True)
class Condition:
    """A fact about the case a step needs, with what to say when it does not hold."""

    holds: Callable[[Ticket, Facts], bool]
    refusal: Any  # lazy text; may use %(number)s


@dataclass(frozen=True)
class Rule:
    """When one step may be taken on a case (see the module docstring)."""

    states: tuple[str, ...]
    who: tuple[str, ...] = ()
    capability: str | None = None
    conditions: tuple[Condition, ...] = field(default=())


HAS_ARRIVAL_LIMIT = Condition(
    lambda t, _f: t.arrival_deadline is not None,
    gettext_lazy("Case %(number)s has no arrival time limit."),
)
NOT_YET_ARRIVED = Condition(
    lambda t, _f: t.arrived_at is None, gettext_lazy("The crew's arrival is already recorded.")
)
NOT_PAUSED = Condition(
    lambda _t, f: not f.paused,
    gettext_lazy("The clock of case %(number)s is already paused."),
)
PAUSED = Condition(
    lambda _t, f: f.paused, gettext_lazy("The clock of case %(number)s is not paused.")
)
EXTENSION_PENDING = Condition(
    lambda _t, f: f.extension_pending,
    gettext_lazy("No extension request of case %(number)s is waiting."),
)
NO_EXTENSION_PENDING = Condition(
    lambda _t, f: not f.extension_pending,
    gettext_lazy("An extension request is already waiting for a decision."),
)
NOT_MERGED = Condition(
    lambda t, _f: t.parent_id is None, gettext_lazy("Case %(number)s is already merged.")
)
NO_MERGED_CASES = Condition(
    lambda _t, f: not f.has_merged_cases,
    gettext_lazy("Other cases are merged into this one: merge the other way."),
)
WITH_SOMEONE = Condition(
    lambda t, _f: t.department_id is not None or t.team_id is not None,
    gettext_lazy("The case is with nobody yet: dispatch it first."),
)

OWNER = ("owner",)
HANDLER = ("handler",)
EITHER = ("owner", "handler")

# The table. Order is the order of the buttons on the case page.
RULES: dict[str, Rule] = {
    "dispatch": Rule((S.RECEIVED, S.RETURNED), OWNER, "tickets.dispatch"),
    "accept": Rule((S.DISPATCHED,), HANDLER),
    "arrive": Rule(
        (S.DISPATCHED, S.IN_PROGRESS), HANDLER, conditions=(HAS_ARRIVAL_LIMIT, NOT_YET_ARRIVED)
    ),
    "resolve": Rule(OPEN_STATES, EITHER),
    "callback": Rule((S.RESOLVED,), OWNER),
    "close": Rule((S.RESOLVED,), OWNER),
    "transfer": Rule((S.DISPATCHED, S.IN_PROGRESS), EITHER),
    "return": Rule((S.DISPATCHED, S.IN_PROGRESS), HANDLER),
    "reopen": Rule(DONE_STATES, OWNER),
    "pause": Rule(OPEN_STATES, EITHER, conditions=(NOT_PAUSED,)),
    "resume": Rule(OPEN_STATES, EITHER, conditions=(PAUSED,)),
    "extension_request": Rule(OPEN_STATES, EITHER, conditions=(NO_EXTENSION_PENDING,)),
    "extension_decide": Rule(
        OPEN_STATES, capability="tickets.supervise", conditions=(EXTENSION_PENDING,)
    ),
    "escalate": Rule(OPEN_STATES, capability="tickets.supervise"),
    "remind": Rule(OPEN_STATES, OWNER, conditions=(WITH_SOMEONE,)),
    "merge": Rule(OPEN_STATES, OWNER, conditions=(NOT_MERGED, NO_MERGED_CASES)),
    "change_owner": Rule((*OPEN_STATES, *DONE_STATES), capability="tickets.change_owner"),
}

# The steps a partner client may take on its own cases (the customer chases the case or
# disagrees with its resolution through the partner).
PARTNER_STEPS = frozenset({"remind", "reopen"})


def refusal(
    actor: Any, ticket: Ticket, action: str, *, facts: Facts | None = None
) -> Exception | None:
    """Why `actor` may not take `action` on `ticket` now, or None when the step is allowed.
    `facts`: what is known about the case already (`Facts`; read as needed without)."""
    actors.require_actor(actor)
    rule = RULES[action]
    if ticket.state not in rule.states:
        return IllegalTransition(
            _("Case %(number)s is %(state)s: “%(action)s” is not possible now.")
            % {"number": ticket.number, "state": ticket.get_state_display(), "action": action},
            ticket=ticket,
        )
    if actors.is_partner(actor):
        if action not in PARTNER_STEPS:
            return NotAllowed(
                _("A partner system may not do this to case %(number)s.")
                % {"number": ticket.number},
                capability=rule.capability,
            )
    elif not actors.is_system(actor):
        if rule.capability is not None and not can(actor, rule.capability):
            return NotAllowed(capability=rule.capability)
        if rule.who and not any(RELATIONS[relation](actor, ticket) for relation in rule.who):
            return NotAllowed(
                _("You may not do this to case %(number)s.") % {"number": ticket.number}
            )
    if facts is None:
        facts = Facts(ticket)
    for condition in rule.conditions:
        if not condition.holds(ticket, facts):
            return IllegalTransition(
                str(condition.refusal) % {"number": ticket.number}, ticket=ticket
            )
    return None


def authorize(actor: Any, ticket: Ticket, action: str) -> None:
    """Raise the table's refusal when `actor` may not take `action` on `ticket` now."""
    error = refusal(actor, ticket, action)
    if error is not None:
        raise error


def allowed_actions(user: Any, ticket: Ticket, *, facts: Facts | None = None) -> list[str]:
    """The steps `user` may take on `ticket` now, in button order (for pages and the API).
    `facts`: e.g. `Facts(ticket, new=True)` for a case the caller has just created."""
    if not _staff(user):
        return []
    facts = facts if facts is not None else Facts(ticket)
    return [action for action in RULES if refusal(user, ticket, action, facts=facts) is None]
