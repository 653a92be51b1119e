"""The case page's action bar in the browser: only the steps the viewer may take now,
each in its own small form, each confirmed in words that say what happened."""

from __future__ import annotations

from typing import Any

import pytest

from qingquan.tickets import rules, services
from qingquan.tickets.models import Ticket


def bar(page: Any) -> list[str]:
    return page.locator("[data-testid=actions] details.act").evaluate_all(
        "items => items.map(i => i.dataset.action)"
    )


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("reference_data")
def test_the_action_bar_offers_each_role_its_steps_and_confirms_them(
    page: Any, login: Any, people: Any, org: Any, new_case: Any
) -> None:
    org["crew"].name = "海曙抢修班"
    org["crew"].save()
    agent, crew = people["agent"], people["crew"]
    case = new_case("repair-burst", subject="中山路爆管")

    # The owner: the steps of a received case, one button each, one form at a time.
    login(agent.username)
    page.goto(f"/cases/{case.number}/")
    assert bar(page) == rules.allowed_actions(agent, case)
    assert "dispatch" in bar(page) and "accept" not in bar(page)
    assert page.locator("details.act[open]").count() == 0
    assert not page.locator("details[data-action=dispatch] form").is_visible()
    page.click("[data-testid=act-dispatch]")
    form = page.locator("details[data-action=dispatch] form")
    assert form.is_visible()
    page.click("[data-testid=act-pause]")  # opening another step closes the first
    form.wait_for(state="hidden")
    assert page.locator("details.act[open]").count() == 1
    page.click("[data-testid=act-dispatch]")
    form.locator("select[name=team]").select_option(str(org["crew"].pk))
    form.locator("button.confirm").click()
    page.wait_for_selector(".messages li.success")
    assert page.locator(".messages li.success").inner_text() == "已派单至海曙抢修班。"
    assert "dispatch" not in bar(page)

    # Another agent: neither owner nor handler, no action bar at all.
    page.context.clear_cookies()
    login(people["agent2"].username)
    page.goto(f"/cases/{case.number}/")
    assert page.locator("[data-testid=actions]").count() == 0

    # The crew: accept, arrive… and once arrived, "crew on site" is no longer offered.
    page.context.clear_cookies()
    login(crew.username)
    page.goto(f"/cases/{case.number}/")
    case = Ticket.objects.get(pk=case.pk)
    assert bar(page) == rules.allowed_actions(crew, case)
    assert {"accept", "arrive", "return"} <= set(bar(page)) and "dispatch" not in bar(page)
    page.click("[data-testid=act-arrive]")
    page.locator("details[data-action=arrive] button.confirm").click()
    page.wait_for_selector(".messages li.success")
    message = page.locator(".messages li.success").inner_text()
    assert message.startswith("已登记抢修人员") and message.endswith("到场。")
    assert "arrive" not in bar(page)
    assert bar(page) == rules.allowed_actions(crew, Ticket.objects.get(pk=case.pk))

    # A refused step (stale form) says why, in the same place.
    services.ticket_pause(
        actor=crew, ticket=Ticket.objects.get(pk=case.pk), version=None, reason="customer"
    )
    page.click("[data-testid=act-resolve]")
    page.locator("details[data-action=resolve] textarea").fill("已修复")
    page.locator("details[data-action=resolve] button.confirm").click()
    page.wait_for_selector(".messages li.error")
    assert "已被他人修改" in page.locator(".messages li.error").inner_text()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("reference_data")
def test_the_crews_queue_shows_priority_and_the_arrival_deadline_first(
    page: Any, login: Any, people: Any, org: Any, new_case: Any
) -> None:
    from django.utils import timezone

    agent, crew = people["agent"], people["crew"]
    leak = new_case("repair-low-pressure", subject="水压低")
    services.ticket_dispatch(actor=agent, ticket=leak, version=1, team=org["crew"])
    burst = new_case("repair-burst", subject="爆管")
    services.ticket_dispatch(actor=agent, ticket=burst, version=1, team=org["crew"])
    burst = Ticket.objects.get(pk=burst.pk)
    login(crew.username)
    page.goto("/cases/")
    rows = page.locator("[data-testid=queue] tr[data-testid=case-row]")
    first = rows.nth(0)
    assert first.get_attribute("data-number") == burst.number  # urgent first
    assert first.locator("[data-testid=priority]").inner_text() == "紧急"
    arrival = first.locator("[data-testid=arrival]").inner_text()
    assert burst.arrival_deadline is not None
    assert timezone.localtime(burst.arrival_deadline).strftime("%m-%d %H:%M") in arrival
    assert "到场" in arrival
    assert first.locator("[data-testid=resolution]").is_visible()
