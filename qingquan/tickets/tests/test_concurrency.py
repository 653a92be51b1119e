"""Case numbers stay unique and updates are never lost under concurrent requests."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection

from qingquan.tickets import services
from qingquan.tickets.errors import StaleVersion
from qingquan.tickets.models import Ticket

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("reference_data"),
]


def run_in_threads(count: int, work: Any) -> list[Any]:
    results: list[Any] = [None] * count
    barrier = threading.Barrier(count)

    def runner(index: int) -> None:
        try:
            barrier.wait()
            results[index] = work(index)
        except Exception as error:  # collected and asserted by the test
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_concurrent_creation_gives_unique_numbers(people: Any, kind: Any) -> None:
    consultation = kind("consultation")
    agent = people["agent"]

    def work(index: int) -> str:
        ticket = services.ticket_create(
            actor=agent, kind=consultation, channel="phone", subject=f"并发{index}"
        )
        return ticket.number

    numbers = run_in_threads(8, work)
    assert all(isinstance(n, str) for n in numbers), numbers
    assert len(set(numbers)) == 8
    sequences = sorted(int(n.split("-")[1]) for n in numbers)
    assert sequences == list(range(1, 9))


def test_two_simultaneous_legal_changes_one_wins_one_is_refused(people: Any, new_case: Any) -> None:
    """A supervisor escalates while the owner dispatches, both on version 1: either step
    is legal in either order (both states are open, the case is the owner's), so the
    only thing that can refuse one is the other having won version 1. On PostgreSQL the
    row lock orders them, on SQLite the one write lock (IMMEDIATE transactions queued by
    the writer queue, decision 0006); either way the second sees version 2."""
    supervisor, agent = people["supervisor"], people["agent"]
    steps = [
        lambda case: services.ticket_dispatch(actor=agent, ticket=case, version=1),
        lambda case: services.ticket_escalate(
            actor=supervisor, ticket=case, version=1, note="督办"
        ),
    ]
    for step in steps:  # each step alone is legal on such a case
        assert isinstance(step(new_case("repair-leak")), Ticket)
    case = new_case("repair-leak")

    results = run_in_threads(2, lambda index: steps[index](case))
    winners = [r for r in results if isinstance(r, Ticket)]
    stale = [r for r in results if isinstance(r, StaleVersion)]
    assert len(winners) == 1 and len(stale) == 1, results
    fresh = Ticket.objects.get(pk=case.pk)
    assert fresh.version == 2
    assert fresh.events.filter(action__in=("dispatch", "escalate")).count() == 1
    assert fresh.escalation_level == (1 if winners[0].escalation_level else 0)


def test_racing_resolutions_one_wins_one_gets_409(people: Any, new_case: Any) -> None:
    case = new_case()

    def work(index: int) -> Any:
        return services.ticket_resolve(
            actor=people["agent"], ticket=case, version=1, resolution=f"答复{index}"
        )

    results = run_in_threads(2, work)
    winners = [r for r in results if isinstance(r, Ticket)]
    stale = [r for r in results if isinstance(r, StaleVersion)]
    assert len(winners) == 1 and len(stale) == 1, results
    fresh = Ticket.objects.get(pk=case.pk)
    assert fresh.version == 2 and fresh.resolution == winners[0].resolution
    assert fresh.events.filter(action="resolve").count() == 1


def test_a_day_numbering_continues_after_the_counter_row(people: Any, kind: Any) -> None:
    """Numbers already given today (the counter of earlier versions) are never given again:
    the day's PostgreSQL sequence starts after them; SQLite counts on from the row."""
    from qingquan.core import clock
    from qingquan.tickets.models import DayCounter

    DayCounter.objects.create(day=clock.now().astimezone(clock.SHANGHAI).date(), last=41)
    ticket = services.ticket_create(
        actor=people["agent"], kind=kind("consultation"), channel="phone", subject="续号"
    )
    assert ticket.number.endswith("-0042")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has one writer anyway")
def test_an_open_creation_does_not_hold_up_the_next_number(people: Any, kind: Any) -> None:
    """On PostgreSQL a creation whose transaction is still open holds no lock another
    creation needs for its number (the day's sequence, not a counter row): the second
    creation commits while the first is still open (decision 0009)."""
    from django.db import transaction

    consultation = kind("consultation")
    agent = people["agent"]
    services.ticket_create(actor=agent, kind=consultation, channel="phone", subject="当日首单")
    first_open = threading.Event()
    second_done = threading.Event()
    numbers: dict[str, str] = {}

    def first(_index: int) -> None:
        with transaction.atomic():
            numbers["first"] = services.ticket_create(
                actor=agent, kind=consultation, channel="phone", subject="未提交"
            ).number
            first_open.set()
            # The second creation finishes while this transaction is still open.
            numbers["second_done_in_time"] = str(second_done.wait(20))

    def second(_index: int) -> None:
        first_open.wait(20)
        numbers["second"] = services.ticket_create(
            actor=agent, kind=consultation, channel="phone", subject="并行"
        ).number
        second_done.set()

    results = run_in_threads(2, lambda i: (first, second)[i](i))
    assert results == [None, None], results
    assert numbers["second_done_in_time"] == "True"
    assert numbers["first"] != numbers["second"]
    assert int(numbers["second"][-4:]) == int(numbers["first"][-4:]) + 1
