"""In headless Chromium: the crew app on a 375 px phone loses its signal, takes three
steps, gets the signal back and sees them applied on the server in their original order;
the dispatcher's board shows the job and the crews; the job page assigns in one click."""

from __future__ import annotations

from typing import Any

import pytest

from qingquan.dispatch import services
from qingquan.dispatch.models import Crew, Job, JobStep
from qingquan.staff.roles import DepartmentKind, Role
from qingquan.staff.tests.factories import PASSWORD, department, team

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def scene(make_user: Any) -> dict[str, Any]:
    from qingquan.customers.tests.factories import premise
    from qingquan.tickets import services as tickets
    from qingquan.tickets.models import CaseKind

    repair = department("repair", DepartmentKind.REPAIR)
    crew_team = team("crew-haishu", repair, is_crew=True)
    crew = Crew.objects.create(
        team=crew_team,
        skills=["valves"],
        vehicle="浙B·Q9601",
        depot_longitude=121.54,
        depot_latitude=29.87,
    )
    member = make_user(Role.CREW, department=repair, team=crew_team)
    dispatcher = make_user(Role.DISPATCHER, department=repair)
    agent = make_user(Role.AGENT)
    place = premise(longitude=121.55, latitude=29.87)
    case = tickets.ticket_create(
        actor=agent,
        kind=CaseKind.objects.get(code="repair-burst"),
        channel="phone",
        subject="路面冒水",
        premise=place,
        address=place.address,
    )
    job = services.job_create(actor=dispatcher, ticket=case)
    return {"crew": crew, "member": member, "dispatcher": dispatcher, "job": job}


def _login(page: Any, username: str) -> None:
    page.goto("/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def test_crew_app_offline_three_steps_then_online_applied_in_order(
    browser: Any, live_server: Any, scene: Any
) -> None:
    job = services.job_assign(
        actor=scene["dispatcher"],
        job=scene["job"],
        crew=scene["crew"],
        version=scene["job"].version,
    )
    context = browser.new_context(
        locale="zh-CN",
        base_url=live_server.url,
        viewport={"width": 375, "height": 740},
        is_mobile=True,
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        _login(page, scene["member"].username)
        page.goto("/dispatch/crew/")
        page.wait_for_function("() => document.getElementById('crew-app').dataset.loaded === '1'")
        card = page.locator(f'[data-job="{job.number}"]')
        assert card.get_attribute("data-state") == "assigned"
        context.set_offline(True)
        page.wait_for_function("() => document.getElementById('crew-app').dataset.online === '0'")
        for step in ("accept", "en_route", "arrive"):
            card.locator(f'button[data-step="{step}"]').click()
        page.wait_for_function("() => document.getElementById('crew-app').dataset.queued === '3'")
        assert card.get_attribute("data-state") == "on_site"
        assert JobStep.objects.count() == 0  # nothing reached the server
        context.set_offline(False)
        page.wait_for_function("() => document.getElementById('crew-app').dataset.queued === '0'")
        page.wait_for_function("() => document.getElementById('crew-app').dataset.loaded === '1'")
        steps = list(JobStep.objects.order_by("at", "id").values_list("kind", "offline"))
        assert steps == [("accept", True), ("en_route", True), ("arrive", True)]
        fresh = Job.objects.get(pk=job.pk)
        assert fresh.state == "on_site"
        assert fresh.arrived_at == JobStep.objects.get(kind="arrive").at  # the phone's time
        assert page.evaluate("() => document.body.scrollWidth") <= 375
        page.screenshot(path="docs/screenshots/dispatch-crew-app-zh.png", full_page=True)
    finally:
        context.close()


def test_board_and_one_click_assignment(page: Any, scene: Any) -> None:
    _login(page, scene["dispatcher"].username)
    page.goto("/dispatch/")
    row = page.get_by_test_id("job-row")
    assert row.get_attribute("data-number") == scene["job"].number
    page.wait_for_function(
        "() => Number(document.getElementById('board-map').dataset.features) === 2"
    )
    page.screenshot(path="docs/screenshots/dispatch-board-zh.png", full_page=True)
    row.locator("a").click()
    page.get_by_test_id("suggestion").first.wait_for()
    page.screenshot(path="docs/screenshots/dispatch-job-zh.png", full_page=True)
    page.get_by_test_id("assign").first.click()
    page.wait_for_load_state()
    assert "已派出" in page.locator(".messages").inner_text()
    assert Job.objects.get(pk=scene["job"].pk).state == "assigned"


def test_pages_in_english(browser: Any, live_server: Any, scene: Any) -> None:
    """The board, the job page and the crew app in English (the language cookie), for the
    screenshots in docs/screenshots/."""
    services.job_assign(
        actor=scene["dispatcher"],
        job=scene["job"],
        crew=scene["crew"],
        version=scene["job"].version,
    )
    for user, url, name, viewport in (
        (scene["dispatcher"], "/dispatch/", "dispatch-board-en", {"width": 1280, "height": 800}),
        (scene["dispatcher"], f"/dispatch/jobs/{scene['job'].number}/", "dispatch-job-en", None),
        (scene["member"], "/dispatch/crew/", "dispatch-crew-app-en", {"width": 375, "height": 740}),
    ):
        context = browser.new_context(
            locale="en-GB",
            base_url=live_server.url,
            viewport=viewport or {"width": 1280, "height": 800},
        )
        context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])
        page = context.new_page()
        try:
            _login(page, user.username)
            page.goto(url)
            if "crew" in url:
                page.wait_for_function(
                    "() => document.getElementById('crew-app').dataset.loaded === '1'"
                )
                assert "Accept" in page.inner_text("body")
            else:
                assert "Repair" in page.inner_text("h1")
                if url == "/dispatch/":
                    page.wait_for_function(
                        "() => Number(document.getElementById('board-map').dataset.features) === 2"
                    )
            page.screenshot(path=f"docs/screenshots/{name}.png", full_page=True)
        finally:
            context.close()
