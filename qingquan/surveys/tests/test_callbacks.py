"""Callbacks (回访): tasks on resolution, outcomes on the case, retries, the survey link."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from qingquan.surveys import services
from qingquan.surveys.models import CallbackAttempt, CallbackTask
from qingquan.tickets import services as tickets
from qingquan.tickets.errors import InvalidInput, NotAllowed
from qingquan.tickets.models import TicketState

from .conftest import sh

pytestmark = pytest.mark.django_db


def resolve(case: Any, actor: Any) -> Any:
    return tickets.ticket_resolve(
        actor=actor, ticket=case, version=case.version, resolution="已处理"
    )


def the_task(case: Any) -> CallbackTask:
    return CallbackTask.objects.get(ticket=case)


def test_resolving_creates_one_callback_for_the_owner_due_in_two_working_days(
    at: Any, new_case: Any, people: Any
) -> None:
    at(sh(2026, 3, 6, 9))  # Friday
    case = new_case("consult-policy")
    at(sh(2026, 3, 6, 15))
    resolve(case, people["supervisor"])  # resolved by someone else: owner still calls
    task = the_task(case)
    assert task.assignee == people["agent"]
    assert task.purpose == CallbackTask.Purpose.CASE
    # Fri 15:00 + 2 working days (weekend not counted) = Tue 15:00.
    assert task.due_at == sh(2026, 3, 10, 15)
    # Idempotent: running the creation again (a retried hook, the safety net) adds nothing.
    assert services.callback_task_for_resolution(ticket_id=case.pk) == task
    assert services.schedule_missed_resolutions(since=sh(2026, 3, 1)) == 0
    assert CallbackTask.objects.filter(ticket=case).count() == 1


def test_satisfied_callback_closes_the_case(at: Any, new_case: Any, people: Any) -> None:
    at(sh(2026, 3, 2, 9))
    case = new_case("consultation")
    resolve(case, people["agent"])
    task = the_task(case)
    at(sh(2026, 3, 2, 16))
    task = services.callback_attempt_record(
        actor=people["agent"], task=task, version=task.version, outcome="satisfied", note="很好"
    )
    assert task.status == CallbackTask.Status.DONE and task.outcome == "satisfied"
    case.refresh_from_db()
    assert case.state == TicketState.CLOSED
    assert case.callback_outcome == "satisfied"


def test_unreachable_is_retried_at_other_times_then_final(
    at: Any, new_case: Any, people: Any
) -> None:
    at(sh(2026, 3, 2, 9))
    case = new_case("consultation")
    resolve(case, people["agent"])
    task = the_task(case)
    times = []
    for attempt, moment in enumerate((sh(2026, 3, 2, 10), sh(2026, 3, 2, 15), sh(2026, 3, 3, 9))):
        at(moment)
        task = services.callback_attempt_record(
            actor=people["agent"], task=task, version=task.version, outcome="unreachable"
        )
        assert task.attempts == attempt + 1
        if attempt < 2:
            assert task.is_open
            assert task.next_attempt_at is not None
            times.append(task.next_attempt_at)
    # Each retry is proposed at another time of day, within calling hours.
    local = [t.astimezone(sh(2026, 1, 1).tzinfo) for t in times]
    assert local[0].hour != local[1].hour
    assert all(9 <= t.hour <= 19 for t in local)
    assert task.status == CallbackTask.Status.DONE and task.outcome == "unreachable"
    assert CallbackAttempt.objects.filter(task=task).count() == 3
    case.refresh_from_db()
    assert case.state == TicketState.RESOLVED  # tickets' rule: unreachable does not close
    assert case.callback_outcome == "unreachable"


def test_dissatisfied_reopens_the_case_with_the_customers_words(
    at: Any, new_case: Any, people: Any
) -> None:
    at(sh(2026, 3, 2, 9))
    case = new_case("consultation")
    resolve(case, people["agent"])
    task = the_task(case)
    services.callback_attempt_record(
        actor=people["agent"],
        task=task,
        version=task.version,
        outcome="dissatisfied",
        note="水压还是很低",
    )
    case.refresh_from_db()
    assert case.state == TicketState.RECEIVED
    assert case.reopen_count == 1
    reopen = case.events.get(action="reopen")
    assert "水压还是很低" in reopen.note
    assert case.escalation_level == 0  # consultation: reopen only
    # Resolved again: a new round, a new callback task.
    at(sh(2026, 3, 3, 9))
    resolve(case, people["agent"])
    assert CallbackTask.objects.filter(ticket=case).count() == 2


def test_dissatisfied_complaint_is_reopened_and_escalated(
    at: Any, new_case: Any, people: Any
) -> None:
    at(sh(2026, 3, 2, 9))
    case = new_case("complaint-attitude")
    resolve(case, people["agent"])
    task = the_task(case)
    services.callback_attempt_record(
        actor=people["agent"],
        task=task,
        version=task.version,
        outcome="dissatisfied",
        note="态度差",
    )
    case.refresh_from_db()
    assert case.state == TicketState.RECEIVED
    assert case.escalation_level == 1
    assert "态度差" in case.events.get(action="escalate").note


def test_declined_closes_without_a_rating(at: Any, new_case: Any, people: Any) -> None:
    at(sh(2026, 3, 2, 9))
    case = new_case("consultation")
    resolve(case, people["agent"])
    task = the_task(case)
    services.callback_attempt_record(
        actor=people["agent"], task=task, version=task.version, outcome="declined"
    )
    case.refresh_from_db()
    assert case.state == TicketState.CLOSED and case.callback_outcome == ""


def test_only_the_caller_or_a_supervisor_records(at: Any, new_case: Any, people: Any) -> None:
    at(sh(2026, 3, 2, 9))
    case = new_case("consultation")
    resolve(case, people["agent"])
    task = the_task(case)
    with pytest.raises(NotAllowed):
        services.callback_attempt_record(
            actor=people["agent2"], task=task, version=task.version, outcome="satisfied"
        )
    with pytest.raises(InvalidInput):
        services.callback_attempt_record(
            actor=people["agent"], task=task, version=task.version, outcome="happy"
        )
    services.callback_attempt_record(
        actor=people["supervisor"], task=task, version=task.version, outcome="satisfied"
    )
    with pytest.raises(InvalidInput):  # already done
        services.callback_attempt_record(
            actor=people["agent"], task=task, version=None, outcome="satisfied"
        )


def test_bill_enquiries_are_sampled_deterministically(at: Any, new_case: Any, people: Any) -> None:
    at(sh(2026, 3, 2, 9))
    cases = [resolve(new_case("bill-amount"), people["agent"]) for _ in range(40)]
    expected = {c.pk for c in cases if services.in_sample(c.number, 10)}
    tasks = CallbackTask.objects.filter(ticket__in=cases)
    assert {t.ticket_id for t in tasks} == expected
    assert all(t.purpose == CallbackTask.Purpose.SAMPLE for t in tasks)
    assert services.in_sample("20260302-0001", 10) == services.in_sample("20260302-0001", 10)
    assert sum(services.in_sample(f"20260302-{i:04d}", 10) for i in range(2000)) in range(150, 250)


def test_praise_gets_no_callback(at: Any, new_case: Any, people: Any) -> None:
    at(sh(2026, 3, 2, 9))
    case = resolve(new_case("praise"), people["agent"])
    assert not CallbackTask.objects.filter(ticket=case).exists()


# ---------------------------------------------------------------------------
# The public survey page
# ---------------------------------------------------------------------------


def test_survey_link_answers_once(client: Any, at: Any, new_case: Any, people: Any) -> None:
    at(sh(2026, 3, 2, 9))
    case = new_case("consultation")
    resolve(case, people["agent"])
    url = services.survey_url(the_task(case))
    page = client.get(url)
    assert page.status_code == 200
    assert "满意" in page.content.decode() or "Satisfied" in page.content.decode()
    bad = client.post(url, {"answer": "excellent"})
    assert bad.status_code == 400
    done = client.post(url, {"answer": "fairly_satisfied", "comment": "还行"})
    assert done.status_code == 200
    task = the_task(case)
    assert task.outcome == "fairly_satisfied" and task.via_survey and task.comment == "还行"
    case.refresh_from_db()
    assert case.state == TicketState.CLOSED and case.callback_outcome == "fairly_satisfied"
    again = client.get(url)
    assert again.status_code == 410
    assert client.post(url, {"answer": "dissatisfied"}).status_code == 410
    assert the_task(case).outcome == "fairly_satisfied"


def test_tampered_and_expired_links_get_a_clear_page(
    client: Any, at: Any, new_case: Any, people: Any
) -> None:
    at(sh(2026, 3, 2, 9))
    case = new_case("consultation")
    resolve(case, people["agent"])
    url = services.survey_url(the_task(case))
    tampered = url.replace("/s/", "/s/x")
    response = client.get(tampered)
    assert response.status_code == 400
    assert 'data-testid="survey-message"' in response.content.decode()
    at(sh(2026, 3, 2, 9) + dt.timedelta(days=8))
    expired = client.get(url)
    assert expired.status_code == 410
    assert client.post(url, {"answer": "satisfied"}).status_code == 410
    assert the_task(case).is_open


# ---------------------------------------------------------------------------
# Pages
# ---------------------------------------------------------------------------


def test_my_callbacks_page_shows_due_and_overdue_and_records(
    client: Any, at: Any, new_case: Any, people: Any
) -> None:
    at(sh(2026, 3, 2, 9))
    first = resolve(new_case("consultation"), people["agent"])
    at(sh(2026, 3, 9, 9))
    second = resolve(new_case("consultation"), people["agent"])
    client.force_login(people["agent"])
    page = client.get("/callbacks/")
    assert page.status_code == 200
    html = page.content.decode()
    overdue_part, due_part = html.split('data-testid="overdue"')[1].split('data-testid="due"')
    assert first.number in overdue_part and second.number not in overdue_part
    assert second.number in due_part
    task = the_task(first)
    stale = client.post(
        f"/callbacks/{task.pk}/record/", {"outcome": "satisfied", "version": "99"}, follow=True
    )
    assert stale.status_code == 200 and the_task(first).is_open
    ok = client.post(
        f"/callbacks/{task.pk}/record/", {"outcome": "satisfied", "version": str(task.version)}
    )
    assert ok.status_code == 302
    assert the_task(first).outcome == "satisfied"
    client.force_login(people["agent2"])
    assert client.post(f"/callbacks/{task.pk}/record/", {"outcome": "satisfied"}).status_code == 404
    client.force_login(people["crew"])
    assert client.get("/callbacks/").status_code == 403


# ---------------------------------------------------------------------------
# Customer managers' twice-yearly calls (R-CON-5)
# ---------------------------------------------------------------------------


def test_manager_calls_twice_a_year(at: Any, make_user: Any, people: Any) -> None:
    from qingquan.customers.models import Customer, CustomerKind
    from qingquan.staff.roles import Role

    manager = make_user(Role.CUSTOMER_MANAGER)
    at(sh(2026, 1, 5, 9))
    company = Customer.objects.create(
        kind=CustomerKind.ORGANISATION,
        name="宁波某食品有限公司",
        uscc="91330200MA2AAAAA1X",
        created_at=sh(2026, 1, 5),
        updated_at=sh(2026, 1, 5),
    )
    services.manager_assign(
        actor=people["admin"], manager=manager, customer=company, since=dt.date(2026, 1, 5)
    )
    assert services.schedule_manager_calls() == 1
    assert services.schedule_manager_calls() == 0  # one open call at a time
    task = CallbackTask.objects.get(purpose="manager")
    assert task.assignee == manager and task.customer == company
    services.callback_attempt_record(
        actor=manager, task=task, version=task.version, outcome="satisfied"
    )
    at(sh(2026, 5, 5, 9))
    assert services.schedule_manager_calls() == 0  # not six months yet
    at(sh(2026, 7, 6, 9))
    assert services.schedule_manager_calls() == 1
