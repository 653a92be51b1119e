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


def test_two_simultaneous_changes_never_lose_an_update(people: Any, new_case: Any) -> None:
    case = new_case()
    actors = [people["agent"], people["supervisor"]]

    def work(index: int) -> Any:
        return (
            services.ticket_escalate(
                actor=people["supervisor"], ticket=case, version=1, note=f"督办{index}"
            )
            if index
            else services.ticket_remind(actor=actors[0], ticket=case, version=1)
        )

    results = run_in_threads(2, work)
    winners = [r for r in results if isinstance(r, Ticket)]
    losers = [r for r in results if isinstance(r, Exception)]
    # The remind has nobody to remind (illegal) or loses on version; either way exactly
    # one change can win version 1, and the other is refused, not silently merged.
    assert len(winners) <= 1
    assert Ticket.objects.get(pk=case.pk).version == 1 + len(winners)
    assert len(losers) == 2 - len(winners)


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
