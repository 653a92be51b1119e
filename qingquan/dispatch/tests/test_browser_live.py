"""In headless Chromium, over a real ASGI server (uvicorn with the project's websocket
routing, as in production): the dispatcher's board sees a job assigned in another window
and a clock alert appear without reloading — pushed over the staff websocket, with the
polling fallback set to 15 minutes so that only the push can explain it — and the board's
map draws the pipe network under the jobs."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from qingquan.dispatch import services
from qingquan.dispatch.models import Crew, Job
from qingquan.network.tests.helpers import import_small
from qingquan.staff.roles import DepartmentKind, Role
from qingquan.staff.tests.factories import PASSWORD, department, team

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PORT = 8202  # this worktree's second port (COMMON.md)
SHOTS = "/work/coord/shots/h17"


class AsgiServer:
    """uvicorn serving `qingquan.asgi`'s routing (static files through Django's finders)
    in a thread with its own event loop; `run_sync` runs a function in that loop's
    context, as a request would (its pushes reach the in-memory channel layer there)."""

    def __init__(self) -> None:
        import uvicorn
        from channels.auth import AuthMiddlewareStack
        from channels.routing import ProtocolTypeRouter, URLRouter
        from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

        from qingquan.core.asgi_handler import one_hop_asgi_application
        from qingquan.routing import websocket_urlpatterns

        app = ProtocolTypeRouter(
            {
                "http": ASGIStaticFilesHandler(one_hop_asgi_application()),
                "websocket": AuthMiddlewareStack(URLRouter(websocket_urlpatterns)),
            }
        )
        config = uvicorn.Config(
            app, host="127.0.0.1", port=PORT, lifespan="off", log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.url = f"http://127.0.0.1:{PORT}"

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self.server.serve())

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)

    def run_sync(self, func: Any) -> Any:
        from asgiref.sync import sync_to_async

        return asyncio.run_coroutine_threadsafe(sync_to_async(func)(), self.loop).result(20)


@pytest.fixture
def asgi_server(settings: Any) -> Iterator[AsgiServer]:
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
    server = AsgiServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def scene(make_user: Any, tmp_path: Any) -> dict[str, Any]:
    from qingquan.customers.tests.factories import premise
    from qingquan.tickets import services as tickets
    from qingquan.tickets.models import CaseKind

    import_small(tmp_path)
    repair = department("repair", DepartmentKind.REPAIR)
    crew_team = team("crew-haishu", repair, is_crew=True)
    crew = Crew.objects.create(
        team=crew_team, skills=["valves"], depot_longitude=121.54, depot_latitude=29.87
    )
    dispatcher = make_user(Role.DISPATCHER, department=repair)
    agent = make_user(Role.AGENT)
    jobs = []
    for n, (lon, lat) in enumerate(((121.5519, 29.87005), (121.5535, 29.8701))):
        place = premise(longitude=lon, latitude=lat, room=f"010{n}")
        case = tickets.ticket_create(
            actor=agent,
            kind=CaseKind.objects.get(code="repair-burst"),
            channel="phone",
            subject=f"路面冒水 {n}",
            premise=place,
            address=place.address,
        )
        jobs.append(services.job_create(actor=dispatcher, ticket=case))
    return {"crew": crew, "dispatcher": dispatcher, "jobs": jobs}


def _page(browser: Any, server: AsgiServer, user: Any) -> Any:
    context = browser.new_context(
        locale="zh-CN", base_url=server.url, viewport={"width": 1366, "height": 900}
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto("/login/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


def _joined(user: Any) -> None:
    """Wait until the user's websocket joined its group (the board is listening)."""
    from channels.layers import get_channel_layer

    from qingquan.core.notifications import user_group

    layer: Any = get_channel_layer()
    deadline = time.monotonic() + 15
    while not layer.groups.get(user_group(user.pk)):
        assert time.monotonic() < deadline, "the board's websocket never connected"
        time.sleep(0.05)


def test_board_sees_an_assignment_and_an_alert_pushed_without_reload(
    browser: Any, asgi_server: AsgiServer, scene: Any, monkeypatch: Any
) -> None:
    from qingquan.dispatch import live, views

    monkeypatch.setattr(views, "REFRESH_SECONDS", 900)  # the polling fallback out of the way
    first, second = scene["jobs"]
    board = _page(browser, asgi_server, scene["dispatcher"])
    other = _page(browser, asgi_server, scene["dispatcher"])
    try:
        board.goto("/dispatch/")
        board.wait_for_function(
            "() => Number(document.getElementById('board-map').dataset.features) === 3"
        )
        # The pipe network under the jobs: the small network's seven pipes.
        board.wait_for_function("() => document.getElementById('board-map').dataset.pipes === '7'")
        board.evaluate("() => { window.__sameDocument = true; }")
        _joined(scene["dispatcher"])
        row = board.locator(f'[data-testid="job-row"][data-number="{first.number}"]')
        assert "crew-haishu" not in row.inner_text()

        # Another window assigns the first job: the board's row shows the crew.
        other.goto(f"/dispatch/jobs/{first.number}/")
        other.get_by_test_id("assign").first.click()
        other.wait_for_load_state()
        board.wait_for_function(
            "n => document.querySelector(`[data-number='${n}']`).innerText.includes('crew-haishu')",
            arg=first.number,
        )
        assert Job.objects.get(pk=first.pk).state == "assigned"

        # The second job's arrival clock turns amber: the alert appears on the board.
        Job.objects.filter(pk=second.pk).update(
            created_at=second.created_at - dt.timedelta(seconds=second.arrive_seconds * 0.85)
        )
        assert asgi_server.run_sync(live.clock_alerts) >= 1
        alert = board.locator(f'[data-testid="board-alert"][data-job="{second.number}"]')
        alert.wait_for()
        assert "到场计时已过预警比例" in alert.inner_text()
        assert board.evaluate("() => window.__sameDocument === true")  # never reloaded
        assert int(board.get_by_test_id("board-live").get_attribute("data-pushes") or 0) >= 2
        board.screenshot(path=f"{SHOTS}/dispatch-board-live-zh.png", full_page=True)
    finally:
        board.context.close()
        other.context.close()
