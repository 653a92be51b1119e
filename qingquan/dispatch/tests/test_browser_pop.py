"""In headless Chromium (#17 item 6): an agent on the console looks a caller up whose
premise the burst cuts off and reads the repair line — the job, its state, "crew arrived
at 21:40" and the water expected back — in Chinese and in English."""

from __future__ import annotations

from typing import Any

import pytest

from qingquan.core import clock
from qingquan.dispatch import services
from qingquan.dispatch.models import Crew
from qingquan.network.tests.helpers import import_small
from qingquan.staff.roles import DepartmentKind, Role
from qingquan.staff.tests.factories import PASSWORD, department, team

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = "/work/coord/shots/h17"


@pytest.fixture
def scene(make_user: Any, tmp_path: Any) -> dict[str, Any]:
    from qingquan.customers.tests import factories as cf
    from qingquan.tickets import services as tickets
    from qingquan.tickets.models import CaseKind

    import_small(tmp_path)
    repair = department("repair", DepartmentKind.REPAIR)
    hotline = department("hotline", DepartmentKind.HOTLINE)
    crew_team = team("crew-haishu", repair, is_crew=True)
    crew = Crew.objects.create(
        team=crew_team, skills=["valves"], depot_longitude=121.54, depot_latitude=29.87
    )
    member = make_user(Role.CREW, department=repair, team=crew_team)
    dispatcher = make_user(Role.DISPATCHER, department=repair)
    agent = make_user(Role.AGENT, department=hotline, extension="8101")
    burst_at = cf.premise(longitude=121.5519, latitude=29.87005)
    caller = cf.customer(name="李四", phones=("13900001111",))
    cf.account(
        caller, premise=cf.premise(longitude=121.5521, latitude=29.8711), number="3302880005"
    )
    case = tickets.ticket_create(
        actor=agent,
        kind=CaseKind.objects.get(code="repair-burst"),
        channel="phone",
        subject="路面冒水",
        premise=burst_at,
        address=burst_at.address,
    )
    job = services.job_create(actor=dispatcher, ticket=case)
    job = services.job_assign(actor=dispatcher, job=job, crew=crew, version=job.version)
    for n, kind in enumerate(["accept", "en_route", "arrive"]):
        job = services.step_record(actor=member, job=job, kind=kind, client_id=f"b-{n}").job
    return {"agent": agent, "job": job}


@pytest.mark.parametrize("locale", ["zh", "en"])
def test_agent_looks_a_cut_off_caller_up_and_sees_the_repair(
    browser: Any, live_server: Any, scene: Any, locale: str
) -> None:
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1366, "height": 900})
    if locale == "en":
        context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        page.goto("/login/")
        page.fill("input[name=username]", scene["agent"].username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        page.goto("/console/")
        page.fill("#lookup-q", "3302880005")
        page.press("#lookup-q", "Enter")
        line = page.get_by_test_id("pop-repair")
        line.wait_for()
        job = scene["job"]
        arrived = job.arrived_at.astimezone(clock.SHANGHAI).strftime("%H:%M")
        text = line.inner_text()
        assert job.number in text and arrived in text
        restore = job.restore_deadline.astimezone(clock.SHANGHAI).strftime("%m-%d %H:%M")
        assert restore in line.get_by_test_id("pop-repair-restore").inner_text()
        if locale == "zh":
            assert "到场" in text and "恢复供水" in text
        else:
            assert "crew arrived at" in text and "water expected back by" in text
        page.screenshot(path=f"{SHOTS}/console-pop-repair-{locale}.png", full_page=True)
    finally:
        context.close()
