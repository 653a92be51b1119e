"""The case state machine: legal and illegal steps, ownership, locking, merging."""

from __future__ import annotations

from typing import Any

import pytest

from qingquan.core.models import AuditEvent, Notification
from qingquan.tickets import selectors, services
from qingquan.tickets.errors import IllegalTransition, InvalidInput, NotAllowed, StaleVersion
from qingquan.tickets.models import Contact, SlaState, Ticket, TicketExtension

from .conftest import sh

pytestmark = pytest.mark.django_db


def test_number_is_date_and_daily_sequence(at: Any, new_case: Any) -> None:
    at(sh(2026, 11, 28, 23, 59))
    first, second = new_case(), new_case()
    assert (first.number, second.number) == ("20261128-0001", "20261128-0002")
    at(sh(2026, 11, 29, 0, 1))  # a new local day restarts the sequence
    assert new_case().number == "20261129-0001"


def test_create_records_the_contact_and_owner(at: Any, new_case: Any, people: Any) -> None:
    at(sh(2026, 3, 2, 9))
    case = new_case("repair-leak", caller_phone="13912345678", address="海曙区中山西路1号")
    contact = Contact.objects.get(tickets=case)
    assert contact.agent == people["agent"] and contact.from_address == "+8613912345678"
    assert case.owner == people["agent"] and case.created_by == people["agent"]
    assert case.state == "received" and case.version == 1
    event = case.events.get()
    assert (event.action, event.to_state, event.actor) == ("create", "received", people["agent"])
    assert AuditEvent.objects.filter(action="ticket.create", object_id=str(case.pk)).exists()


def test_owner_is_the_agent_of_the_first_contact(at: Any, people: Any, kind: Any) -> None:
    at(sh(2026, 3, 2, 9))
    contact = services.contact_record(actor=people["agent2"], channel="phone", from_address="110")
    case = services.ticket_create(
        actor=people["supervisor"],
        kind=kind("bill"),
        channel="phone",
        subject="水费高",
        contact=contact,
    )
    assert case.owner == people["agent2"]
    assert list(contact.tickets.all()) == [case]


def test_full_life_and_ownership_survives_hand_offs(
    at: Any, new_case: Any, people: Any, org: Any
) -> None:
    at(sh(2026, 3, 2, 9))
    agent, dispatcher, crew = people["agent"], people["dispatcher"], people["crew"]
    case = new_case("repair-leak")
    case = services.ticket_dispatch(actor=agent, ticket=case, version=case.version)
    assert case.department == org["repair"] and case.state == "dispatched"  # kind's default
    case = services.ticket_transfer(
        actor=dispatcher, ticket=case, version=case.version, team=org["crew"], note="海曙班"
    )
    assert case.team == org["crew"] and case.department == org["repair"]
    # The crew was told about the case handed to it.
    assert Notification.objects.filter(recipient=crew, title__contains=case.number).exists()
    case = services.ticket_accept(actor=crew, ticket=case, version=case.version)
    assert case.state == "in_progress" and case.assignee == crew
    case = services.ticket_arrive(actor=crew, ticket=case, version=case.version)
    assert case.arrived_at == sh(2026, 3, 2, 9)
    at(sh(2026, 3, 2, 15))
    case = services.ticket_resolve(
        actor=crew, ticket=case, version=case.version, resolution="已修复"
    )
    assert case.owner == agent  # first-contact ownership kept through every hand-off
    assert case.on_time is True and case.state == "resolved"
    assert Notification.objects.filter(
        recipient=agent, title__contains="call the customer"
    ).exists()
    case = services.ticket_callback_record(
        actor=agent, ticket=case, version=case.version, outcome="satisfied"
    )
    assert case.state == "closed" and case.callback_outcome == "satisfied"
    assert list(case.events.values_list("action", flat=True)) == [
        "create",
        "dispatch",
        "transfer",
        "accept",
        "arrive",
        "resolve",
        "callback",
    ]
    assert case.version == 7
    # The owner still sees it among their cases wherever it went.
    assert case in selectors.my_cases(agent, include_done=True)


@pytest.mark.parametrize(
    ("step", "kwargs"),
    [
        (services.ticket_accept, {}),
        (services.ticket_close, {}),
        (services.ticket_callback_record, {"outcome": "satisfied"}),
        (services.ticket_reopen, {"reason": "x"}),
        (services.ticket_return, {"reason": "x"}),
        (services.ticket_transfer, {"department": None}),
    ],
)
def test_illegal_steps_on_a_received_case(
    new_case: Any, people: Any, step: Any, kwargs: dict[str, Any]
) -> None:
    case = new_case()
    with pytest.raises(IllegalTransition) as raised:
        step(actor=people["supervisor"], ticket=case, version=case.version, **kwargs)
    assert "not possible" in raised.value.message
    assert Ticket.objects.get(pk=case.pk).version == 1  # nothing written


def test_no_steps_on_a_closed_case_but_reopen(new_case: Any, people: Any) -> None:
    agent = people["agent"]
    case = new_case()
    case = services.ticket_resolve(actor=agent, ticket=case, version=1, resolution="已答复")
    case = services.ticket_close(actor=agent, ticket=case, version=case.version)
    with pytest.raises(IllegalTransition):
        services.ticket_resolve(actor=agent, ticket=case, version=case.version, resolution="x")
    with pytest.raises(IllegalTransition):
        services.ticket_pause(actor=agent, ticket=case, version=case.version, reason="customer")
    case = services.ticket_reopen(actor=agent, ticket=case, version=case.version, reason="又来电")
    assert case.state == "received"


def test_only_handlers_accept_and_return(new_case: Any, people: Any, org: Any) -> None:
    case = new_case("bill")
    case = services.ticket_dispatch(actor=people["agent"], ticket=case, version=1)
    assert case.department == org["billing"]
    with pytest.raises(NotAllowed):  # the crew is not billing
        services.ticket_accept(actor=people["crew"], ticket=case, version=case.version)
    with pytest.raises(InvalidInput):  # a return needs a reason
        services.ticket_return(
            actor=people["billing"], ticket=case, version=case.version, reason=" "
        )
    case = services.ticket_return(
        actor=people["billing"], ticket=case, version=case.version, reason="非水费问题"
    )
    assert case.state == "returned" and case.department is None
    assert Notification.objects.filter(recipient=people["agent"], level="warning").exists()
    # Back at the hotline the owner dispatches it again.
    case = services.ticket_dispatch(
        actor=people["agent"], ticket=case, version=case.version, department=org["metering"]
    )
    assert case.state == "dispatched"


def test_only_supervisors_change_the_owner(new_case: Any, people: Any) -> None:
    case = new_case()
    with pytest.raises(NotAllowed):
        services.ticket_change_owner(
            actor=people["agent"], ticket=case, version=1, owner=people["agent2"], reason="交班"
        )
    with pytest.raises(NotAllowed):
        services.ticket_change_owner(
            actor=people["dispatcher"], ticket=case, version=1, owner=people["agent2"], reason="x"
        )
    with pytest.raises(InvalidInput):
        services.ticket_change_owner(
            actor=people["supervisor"], ticket=case, version=1, owner=people["agent2"], reason=""
        )
    case = services.ticket_change_owner(
        actor=people["supervisor"],
        ticket=case,
        version=1,
        owner=people["agent2"],
        reason="离职交接",
    )
    assert case.owner == people["agent2"]
    event = case.events.get(action="change_owner")
    assert event.actor == people["supervisor"] and event.note == "离职交接"
    assert event.data == {"from": people["agent"].pk, "to": people["agent2"].pk}


def test_stale_version_is_refused_and_nothing_is_lost(new_case: Any, people: Any) -> None:
    case = new_case()
    services.ticket_dispatch(actor=people["agent"], ticket=case, version=1)
    with pytest.raises(StaleVersion) as raised:
        # A second screen still showing version 1 tries to resolve.
        services.ticket_resolve(actor=people["agent"], ticket=case, version=1, resolution="x")
    assert raised.value.ticket.version == 2
    assert "version 1" in raised.value.message
    fresh = Ticket.objects.get(pk=case.pk)
    assert fresh.state == "dispatched" and fresh.version == 2


def test_pause_twice_and_resume_unpaused_are_illegal(new_case: Any, people: Any) -> None:
    case = new_case("connection")
    with pytest.raises(IllegalTransition):
        services.ticket_resume(actor=people["agent"], ticket=case, version=1)
    with pytest.raises(InvalidInput):
        services.ticket_pause(actor=people["agent"], ticket=case, version=1, reason="holiday")
    case = services.ticket_pause(actor=people["agent"], ticket=case, version=1, reason="payment")
    with pytest.raises(IllegalTransition):
        services.ticket_pause(
            actor=people["agent"], ticket=case, version=case.version, reason="payment"
        )


def test_extension_approval_adds_budget(at: Any, new_case: Any, people: Any) -> None:
    at(sh(2026, 3, 2, 9))
    case = new_case("complaint")  # 3 working days -> Thursday 09:00
    assert case.resolution_deadline == sh(2026, 3, 5, 9)
    case = services.ticket_dispatch(
        actor=people["agent"], ticket=case, version=1, department=people["billing"].department
    )
    extension = services.ticket_extension_request(
        actor=people["billing"],
        ticket=case,
        version=case.version,
        seconds=2 * 86400,
        reason="需现场核查",
    )
    case = Ticket.objects.get(pk=case.pk)
    with pytest.raises(NotAllowed):
        services.ticket_extension_decide(
            actor=people["billing"],
            ticket=case,
            version=case.version,
            extension=extension,
            approve=True,
        )
    case = services.ticket_extension_decide(
        actor=people["supervisor"],
        ticket=case,
        version=case.version,
        extension=extension,
        approve=True,
    )
    # Thursday + 2 working days = Monday 09:00 (the weekend does not count).
    assert case.resolution_deadline == sh(2026, 3, 9, 9)
    assert TicketExtension.objects.get().status == "approved"
    with pytest.raises(IllegalTransition):
        services.ticket_extension_decide(
            actor=people["supervisor"],
            ticket=case,
            version=case.version,
            extension=extension,
            approve=False,
        )


def test_escalate_and_remind_tell_the_right_people(new_case: Any, people: Any, org: Any) -> None:
    case = new_case("repair")
    with pytest.raises(IllegalTransition):  # nobody to remind yet
        services.ticket_remind(actor=people["agent"], ticket=case, version=1)
    case = services.ticket_dispatch(actor=people["agent"], ticket=case, version=1, team=org["crew"])
    case = services.ticket_remind(
        actor=people["agent"], ticket=case, version=case.version, note="用户催促"
    )
    assert Notification.objects.filter(
        recipient=people["crew"], title__startswith="Reminder"
    ).exists()
    with pytest.raises(NotAllowed):
        services.ticket_escalate(actor=people["agent"], ticket=case, version=case.version, note="x")
    case = services.ticket_escalate(
        actor=people["supervisor"], ticket=case, version=case.version, note="今日办结"
    )
    assert case.escalation_level == 1
    assert Notification.objects.filter(recipient=people["agent"], level="alert").exists()
    assert Notification.objects.filter(recipient=people["crew"], level="alert").exists()


def test_merged_cases_resolve_with_their_incident(
    at: Any, new_case: Any, people: Any, org: Any
) -> None:
    at(sh(2026, 3, 2, 7))
    incident = new_case("repair-burst", subject="中山路爆管", actor=people["agent"])
    calls = [
        new_case("repair-no-water", subject=f"停水{i}", actor=people["agent2"]) for i in range(3)
    ]
    for call in calls:
        services.ticket_merge(
            actor=people["agent2"], ticket=call, version=call.version, parent=incident
        )
    # Merging into a merged case attaches to its incident.
    late = new_case("repair-no-water", actor=people["agent2"])
    services.ticket_merge(actor=people["agent2"], ticket=late, version=1, parent=calls[0])
    assert Ticket.objects.get(pk=late.pk).parent == incident
    # An incident with merged cases is merged nowhere (the rule table's condition).
    with pytest.raises(IllegalTransition, match="merge the other way"):
        services.ticket_merge(actor=people["agent"], ticket=incident, version=1, parent=incident)
    alone = new_case("repair-no-water", actor=people["agent"])
    with pytest.raises(InvalidInput, match="into itself"):
        services.ticket_merge(actor=people["agent"], ticket=alone, version=1, parent=alone)

    incident = services.ticket_dispatch(
        actor=people["agent"], ticket=incident, version=1, team=org["crew"]
    )
    at(sh(2026, 3, 2, 12))
    services.ticket_resolve(
        actor=people["crew"],
        ticket=incident,
        version=incident.version,
        resolution="管道已修复,恢复供水",
    )
    children = Ticket.objects.filter(parent=incident)
    assert children.count() == 4
    for child in children:
        assert child.state == "resolved" and child.resolved_at == sh(2026, 3, 2, 12)
        assert incident.number in child.resolution
        assert child.sla_state == SlaState.DONE
    notes = Notification.objects.filter(recipient=people["agent2"], title__contains=incident.number)
    assert notes.count() == 4


def test_visibility_selector(new_case: Any, people: Any, org: Any) -> None:
    case = new_case("bill")
    assert selectors.tickets_visible_to(people["agent2"]).filter(pk=case.pk).count() == 0
    assert selectors.tickets_visible_to(people["billing"]).filter(pk=case.pk).count() == 0
    services.ticket_dispatch(actor=people["agent"], ticket=case, version=1)
    assert selectors.tickets_visible_to(people["billing"]).filter(pk=case.pk).count() == 1
    assert selectors.tickets_visible_to(people["crew"]).filter(pk=case.pk).count() == 0
    assert selectors.tickets_visible_to(people["supervisor"]).filter(pk=case.pk).count() == 1
    assert selectors.tickets_visible_to(people["admin"]).filter(pk=case.pk).count() == 1
    assert list(selectors.my_cases(people["agent"])) == [Ticket.objects.get(pk=case.pk)]
