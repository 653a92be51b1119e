"""One table of per-case rules: the buttons offered and the services accepted agree.

For cases in every state, for every role and relation to the case, each step of
`rules.RULES` is tried through its service (rolled back): the service must accept exactly
the steps `allowed_actions` offers, and refuse the others with the table's refusal.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import transaction

from qingquan.tickets import rules, services
from qingquan.tickets.errors import IllegalTransition, NotAllowed, TicketError
from qingquan.tickets.models import CallbackOutcome, PauseReason, Ticket, TicketExtension

from .conftest import sh

pytestmark = pytest.mark.django_db


class Undo(Exception):
    """Raised to roll a tried step back."""


def arguments(action: str, ticket: Ticket, people: Any, org: Any, other: Ticket) -> dict[str, Any]:
    """Valid input for each step, so only the rules can refuse it."""
    pending = ticket.extensions.filter(status=TicketExtension.Status.PENDING).first()
    new_owner = people["agent2"] if ticket.owner_id != people["agent2"].pk else people["agent"]
    target = org["billing"] if ticket.department_id != org["billing"].pk else org["metering"]
    return {
        "dispatch": {},
        "transfer": {"department": target},
        "accept": {},
        "arrive": {},
        "resolve": {"resolution": "已处理"},
        "return": {"reason": "派错了"},
        "callback": {"outcome": CallbackOutcome.SATISFIED},
        "close": {},
        "reopen": {"reason": "问题复发"},
        "pause": {"reason": PauseReason.values[0]},
        "resume": {},
        "extension_request": {"seconds": 3600, "reason": "需要材料"},
        "extension_decide": {"extension": pending or TicketExtension(pk=0), "approve": True},
        "escalate": {"note": "请尽快"},
        "remind": {},
        "merge": {"parent": other},
        "change_owner": {"owner": new_owner, "reason": "调岗"},
    }[action]


SERVICES: dict[str, Callable[..., Any]] = {
    "dispatch": services.ticket_dispatch,
    "transfer": services.ticket_transfer,
    "accept": services.ticket_accept,
    "arrive": services.ticket_arrive,
    "resolve": services.ticket_resolve,
    "return": services.ticket_return,
    "callback": services.ticket_callback_record,
    "close": services.ticket_close,
    "reopen": services.ticket_reopen,
    "pause": services.ticket_pause,
    "resume": services.ticket_resume,
    "extension_request": services.ticket_extension_request,
    "extension_decide": services.ticket_extension_decide,
    "escalate": services.ticket_escalate,
    "remind": services.ticket_remind,
    "merge": services.ticket_merge,
    "change_owner": services.ticket_change_owner,
}


def test_every_rule_has_a_service() -> None:
    assert set(SERVICES) == set(rules.RULES)


def cases_in_every_state(new_case: Any, people: Any, org: Any) -> dict[str, Ticket]:
    agent, crew = people["agent"], people["crew"]

    def step(service: Callable[..., Any], ticket: Ticket, actor: Any, **kw: Any) -> Ticket:
        return service(actor=actor, ticket=ticket, version=ticket.version, **kw)

    received = new_case("consultation")
    burst = new_case("repair-burst")
    dispatched = step(services.ticket_dispatch, burst, agent, team=org["crew"])
    accepted = step(
        services.ticket_accept,
        step(services.ticket_dispatch, new_case("repair-burst"), agent, team=org["crew"]),
        crew,
    )
    arrived = step(services.ticket_arrive, accepted, crew)
    paused = step(
        services.ticket_pause,
        step(services.ticket_dispatch, new_case("repair-leak"), agent, team=org["crew"]),
        crew,
        reason=PauseReason.values[0],
    )
    extension = step(services.ticket_dispatch, new_case("bill"), agent, department=org["billing"])
    services.ticket_extension_request(
        actor=people["billing"],
        ticket=extension,
        version=extension.version,
        seconds=7200,
        reason="需要材料",
    )
    returned = step(
        services.ticket_return,
        step(services.ticket_dispatch, new_case("bill"), agent, department=org["billing"]),
        people["billing"],
        reason="派错了",
    )
    resolved = step(services.ticket_resolve, new_case("consultation"), agent, resolution="已答复")
    closed = step(
        services.ticket_close,
        step(services.ticket_resolve, new_case("consultation"), agent, resolution="已答复"),
        agent,
    )
    parent = new_case("repair-burst")
    child = step(services.ticket_merge, new_case("repair-burst"), agent, parent=parent)
    return {
        "received": received,
        "dispatched": dispatched,
        "arrived": arrived,
        "paused": paused,
        "extension": Ticket.objects.get(pk=extension.pk),
        "returned": returned,
        "resolved": resolved,
        "closed": closed,
        "incident": Ticket.objects.get(pk=parent.pk),
        "merged": child,
    }


def test_the_services_accept_exactly_what_the_buttons_offer(
    at: Any, new_case: Any, people: Any, org: Any
) -> None:
    at(sh(2026, 3, 2, 9))
    cases = cases_in_every_state(new_case, people, org)
    other = new_case("repair-burst")
    checked = {"offered": 0, "refused": 0}
    for name, case in cases.items():
        for role, user in people.items():
            case = Ticket.objects.get(pk=case.pk)
            offered = set(rules.allowed_actions(user, case))
            for action, service in SERVICES.items():
                case = Ticket.objects.get(pk=case.pk)
                expected = rules.refusal(user, case, action)
                try:
                    with transaction.atomic():
                        service(
                            actor=user,
                            ticket=case,
                            version=case.version,
                            **arguments(action, case, people, org, other),
                        )
                        raise Undo
                except Undo:
                    outcome: TicketError | None = None
                except TicketError as error:
                    outcome = error
                where = f"{action} on the {name} case by {role}"
                if action in offered:
                    assert outcome is None, f"{where}: offered but refused ({outcome})"
                    checked["offered"] += 1
                else:
                    assert outcome is not None, f"{where}: not offered but accepted"
                    assert expected is not None
                    assert type(outcome) is type(expected), where
                    assert outcome.message == str(expected), where
                    checked["refused"] += 1
    # Both sides of the table were exercised.
    assert checked["offered"] > 60 and checked["refused"] > 600


def test_a_service_refuses_with_the_tables_refusal(at: Any, new_case: Any, people: Any) -> None:
    at(sh(2026, 3, 2, 9))
    case = new_case("consultation")
    # Arrival: only with an arrival time limit, and only once.
    assert "arrive" not in rules.allowed_actions(people["agent"], case)
    with pytest.raises(IllegalTransition):
        services.ticket_arrive(actor=people["agent"], ticket=case, version=case.version)
    # Another agent is neither owner nor handler.
    with pytest.raises(NotAllowed):
        services.ticket_resolve(
            actor=people["agent2"], ticket=case, version=case.version, resolution="x"
        )


def test_arrival_is_no_longer_offered_once_recorded(
    at: Any, new_case: Any, people: Any, org: Any
) -> None:
    at(sh(2026, 3, 2, 9))
    crew = people["crew"]
    case = services.ticket_dispatch(
        actor=people["agent"], ticket=new_case("repair-burst"), version=1, team=org["crew"]
    )
    assert "arrive" in rules.allowed_actions(crew, case)
    case = services.ticket_arrive(actor=crew, ticket=case, version=case.version)
    assert "arrive" not in rules.allowed_actions(crew, case)
    with pytest.raises(IllegalTransition, match="already recorded"):
        services.ticket_arrive(actor=crew, ticket=case, version=case.version)


def test_a_just_created_case_is_decided_without_queries_as_when_read(
    at: Any, new_case: Any, people: Any, django_assert_num_queries: Any
) -> None:
    """`Facts(case, new=True)` (the API's answer to a creation) asks the database
    nothing and offers the steps the facts read from the database offer."""
    at(sh(2026, 3, 2, 9))
    case = Ticket.objects.select_related("kind", "owner").get(pk=new_case("repair-burst").pk)
    agent = people["agent"]
    new = rules.Facts(case, new=True)
    with django_assert_num_queries(0):
        offered = rules.allowed_actions(agent, case, facts=new)
    read = rules.Facts(case)
    assert (read.paused, read.extension_pending, read.has_merged_cases) == (False, False, False)
    assert offered == rules.allowed_actions(agent, case) and "pause" in offered
    # Facts read from the database: the paused clock is seen.
    paused = services.ticket_pause(
        actor=agent, ticket=case, version=case.version, reason=PauseReason.values[0]
    )
    facts = rules.Facts(paused)
    assert "resume" in rules.allowed_actions(agent, paused, facts=facts) and facts.paused
