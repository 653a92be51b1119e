"""An agent opens a case in the browser, hands it to a department and resolves it."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("reference_data")
def test_agent_creates_transfers_and_resolves_a_case(
    page: Any, login: Any, people: Any, org: Any
) -> None:
    agent = people["agent"]
    login(agent.username)
    page.click("details.navgroup:has(a[href='/cases/new/']) > summary")  # the 工单 menu
    page.click("nav.mainnav a[href='/cases/new/']")
    form = page.locator("[data-testid=new-case]")
    form.locator("select[name=kind]").select_option("bill-amount")
    form.locator("select[name=channel]").select_option("phone")
    form.locator("input[name=subject]").fill("本月水费比上月高很多")
    form.locator("input[name=caller_phone]").fill("13805741234")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("[data-testid=case-number]")
    number = page.locator("[data-testid=case-number]").inner_text().split(" ")[0]
    assert page.locator("[data-testid=owner]").inner_text() == agent.get_full_name()
    assert page.locator("[data-testid=deadline]").inner_text().strip()

    # Dispatch to the kind's department (billing is preselected), then resolve.
    page.click("[data-testid=act-dispatch]")
    dispatch = page.locator("details[data-action=dispatch] form")
    assert dispatch.locator("select[name=department]").input_value() == str(org["billing"].pk)
    dispatch.locator("input[name=note]").fill("请核查抄表读数")
    dispatch.locator("button[type=submit]").click()
    page.wait_for_selector("[data-testid=timeline] li[data-action=dispatch]")
    assert page.locator("[data-testid=with]").inner_text() == org["billing"].name

    page.click("[data-testid=act-resolve]")
    resolve = page.locator("details[data-action=resolve] form")
    resolve.locator("textarea[name=resolution]").fill("抄表读数有误,已更正并退费")
    resolve.locator("button[type=submit]").click()
    page.wait_for_selector("[data-testid=timeline] li[data-action=resolve]")
    actions = page.locator("[data-testid=timeline] li").evaluate_all(
        "items => items.map(i => i.dataset.action)"
    )
    assert actions == ["create", "dispatch", "resolve"]
    assert "抄表读数有误" in page.locator("[data-testid=timeline]").inner_text()

    # The case is listed on "My cases" only while open; it is resolved now.
    page.click("details.navgroup:has(a[href='/cases/']) > summary")
    page.click("nav.mainnav a[href='/cases/']")
    assert number not in page.locator("[data-testid=owned]").inner_text()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("reference_data")
def test_new_case_form_refuses_a_bad_number_and_keeps_what_was_typed(
    page: Any, login: Any, people: Any, tmp_path: Any
) -> None:
    """The page meets the same input rules as the APIs (core.validation): a number that is
    not one is refused with a message naming the field, nothing is opened, the form keeps
    its values; full-width digits are read and the number stored E.164."""
    from qingquan.tickets.models import Ticket

    login(people["agent"].username)
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto("/cases/new/")
    form = page.locator("[data-testid=new-case]")
    form.locator("select[name=kind]").select_option("consultation")
    form.locator("input[name=subject]").fill("水价咨询")
    form.locator("input[name=caller_phone]").fill("138-0013-8000<b>")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert "caller_phone" in page.content()
    assert page.locator("input[name=subject]").input_value() == "水价咨询"
    assert not Ticket.objects.exists()
    page.screenshot(path=str(tmp_path / "new-case-refused-zh.png"))
    page.goto("/cases/new/")
    form.locator("select[name=kind]").select_option("consultation")
    form.locator("input[name=subject]").fill("水价咨询")
    form.locator("input[name=caller_phone]").fill("１３８００１３８０００")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("[data-testid=case-number]")
    assert Ticket.objects.get().caller_phone == "+8613800138000"
