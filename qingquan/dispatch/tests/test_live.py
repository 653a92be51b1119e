"""#17 item 4, live: job and crew changes, an incident's growing call count and each clock
turning amber or red reach the board's websocket (the staff events consumer) once the
transaction commits, for those who may see the board only; each alert once."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator
from django.core.cache import cache

from qingquan.core.consumers import StaffEventsConsumer
from qingquan.dispatch import live, services
from qingquan.dispatch.models import Job

pytestmark = pytest.mark.django_db(transaction=True)


def _socket(user: Any) -> ApplicationCommunicator:
    scope = {"type": "websocket", "path": "/ws/events/", "headers": [], "user": user}
    return ApplicationCommunicator(StaffEventsConsumer.as_asgi(), scope)


def _received(user: Any, action: Any) -> list[dict[str, Any]]:
    """The events `user`'s socket receives while `action` runs (synchronously, its
    transaction committed)."""
    frames: list[dict[str, Any]] = []

    async def scenario() -> None:
        from asgiref.sync import sync_to_async

        comm = _socket(user)
        await comm.send_input({"type": "websocket.connect"})
        assert (await comm.receive_output(2))["type"] == "websocket.accept"
        await sync_to_async(action)()
        while not await comm.receive_nothing(0.3):
            frames.append(json.loads((await comm.receive_output(1))["text"]))
        await comm.send_input({"type": "websocket.disconnect", "code": 1000})
        await comm.wait(1)

    async_to_sync(scenario)()
    return frames


def test_job_and_crew_changes_reach_the_board_watchers_only(people, crews, located_case) -> None:
    case = located_case("repair-burst")
    made: dict[str, Job] = {}

    def make_and_assign() -> None:
        job = services.job_create(actor=people["dispatcher"], ticket=case)
        made["job"] = services.job_assign(
            actor=people["dispatcher"], job=job, crew=crews["haishu"], version=job.version
        )

    events = _received(people["supervisor"], make_and_assign)
    number = made["job"].number
    assert [(e["change"], e["job"]) for e in events if e["kind"] == "dispatch"] == [
        ("job.create", number),
        ("job.assign", number),
    ]
    assert events[-1]["state"] == "assigned"

    def crew_off() -> None:
        services.crew_set_status(
            actor=people["dispatcher"], crew=crews["jiangbei"], status="off_duty"
        )

    events = _received(people["dispatcher"], crew_off)
    assert events == [
        {"kind": "dispatch", "change": "crew.status", "job": "", "crew": crews["jiangbei"].pk,
         "status": "off_duty"}
    ]  # fmt: skip
    # An agent (no `dispatch.view`) gets no board pushes.
    assert _received(people["agent"], crew_off) == []


def test_a_call_merged_into_the_incident_pushes_the_count(people, crews, located_case) -> None:
    from qingquan.tickets import services as tickets

    incident = located_case("repair-burst")
    job = services.job_create(actor=people["dispatcher"], ticket=incident)
    call = located_case("repair-burst", actor=people["agent2"])

    def merge() -> None:
        tickets.ticket_merge(
            actor=people["agent2"], ticket=call, version=call.version, parent=incident
        )

    events = _received(people["dispatcher"], merge)
    assert {"kind": "dispatch", "change": "calls", "job": job.number} in events


def test_each_clock_turning_amber_or_red_is_pushed_once(people, crews, located_case) -> None:
    cache.clear()
    job = services.job_create(actor=people["dispatcher"], ticket=located_case("repair-burst"))
    start = job.created_at
    amber = start + dt.timedelta(seconds=job.arrive_seconds * 0.8)
    red = start + dt.timedelta(seconds=job.arrive_seconds + 60)
    assert live.clock_alerts(now=start + dt.timedelta(seconds=60)) == 0

    events = _received(people["dispatcher"], lambda: live.clock_alerts(now=amber))
    assert events == [
        {"kind": "dispatch", "change": "alert", "job": job.number, "clock": "arrive",
         "state": "warning", "level": "warning"}
    ]  # fmt: skip
    assert _received(people["dispatcher"], lambda: live.clock_alerts(now=amber)) == []
    events = _received(people["dispatcher"], lambda: live.clock_alerts(now=red))
    assert [(e["clock"], e["state"]) for e in events] == [("arrive", "breached")]
    # The periodic task is registered.
    from qingquan.core import periodic
    from qingquan.dispatch import tasks

    assert "qingquan.dispatch.tasks.board_clock_alerts" in periodic.REGISTRY
    assert tasks.board_clock_alerts.func() == 0  # nothing new at the real now
