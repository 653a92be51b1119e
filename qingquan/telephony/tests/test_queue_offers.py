"""Two IVR lines reaching the queue at the same moment never offer one agent two calls:
the pick and the offer (the ring with the agent's extension) are one step. Found by
bench_telephony: two lines both gave the longest-idle agent a call, the second was lost."""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

import pytest
from django.db import close_old_connections

from qingquan.telephony import ivr
from qingquan.telephony.ivr import FakeDriver, Session
from qingquan.telephony.models import AgentState, AgentStatus, Call

OPEN = dt.datetime(2026, 12, 2, 10, 0, tzinfo=dt.UTC)


@pytest.mark.django_db(transaction=True)
def test_two_lines_at_once_offer_two_agents(
    make_user: Any, monkeypatch: Any, settings: Any, standard_flow: Any
) -> None:
    settings.TELEPHONY_CALLBACK_OFFER_SECONDS = 10_000
    first = make_user("agent", extension="8001")
    second = make_user("agent", extension="8002")
    for n, agent in enumerate((first, second)):
        AgentState.objects.create(
            user=agent, status=AgentStatus.AVAILABLE, since=OPEN - dt.timedelta(hours=2 - n)
        )
    real_pick = ivr.pick_agent

    def slow_pick(skill: str, *, exclude: Any = ()) -> Any:
        found = real_pick(skill, exclude=exclude)
        time.sleep(0.3)  # the other line reaches the queue meanwhile
        return found

    monkeypatch.setattr(ivr, "pick_agent", slow_pick)
    drivers: list[FakeDriver] = []

    def line(number: int) -> None:
        close_old_connections()
        driver = FakeDriver(keys=["0"])
        drivers.append(driver)
        Session(
            driver=driver,
            caller=f"1380000{number:04d}",
            line=f"line{number}",
            call_id=f"race-{number}",
            now=lambda: OPEN,
        ).run()
        close_old_connections()

    threads = [threading.Thread(target=line, args=(n,)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    targets = sorted(t for d in drivers for kind, t in d.log if kind == "transfer")
    assert targets == ["8001", "8002"]
    assert sorted(Call.objects.values_list("extension", flat=True)) == ["8001", "8002"]
