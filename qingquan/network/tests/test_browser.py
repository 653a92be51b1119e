"""In headless Chromium (Chinese UI): a dispatcher opens the network map, clicks a pipe
and sees the valves to close and who loses water, drawn and counted."""

from __future__ import annotations

from typing import Any

import pytest

from qingquan.network.tests.helpers import import_small
from qingquan.staff.roles import Role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The middle of P4 (J3 → J4), where the dispatcher clicks.
P4_MIDDLE = "[29.87, 121.5535]"


def test_dispatcher_clicks_a_pipe_and_sees_its_isolation_plan(
    page: Any, login: Any, make_user: Any, tmp_path: Any
) -> None:
    from qingquan.customers.tests.factories import account, premise

    import_small(tmp_path)
    account(premise=premise(longitude=121.5541, latitude=29.8701))  # next to J4
    login(make_user(Role.DISPATCHER).username)
    page.click("details.navgroup:has(a[href='/network/']) > summary")  # the 管网与供水 menu
    page.locator('nav a[href="/network/"]').click()
    page.wait_for_url("**/network/")
    page.wait_for_function("() => document.getElementById('netmap').dataset.loaded === '7'")
    x, y = page.evaluate(
        "() => { const p = document.getElementById('netmap').leafletMap"
        f".latLngToContainerPoint({P4_MIDDLE}); return [p.x, p.y]; }}"
    )
    page.get_by_test_id("network-map").click(position={"x": x, "y": y})
    page.wait_for_function("() => document.getElementById('netmap').dataset.plan === 'P4'")
    plan = page.get_by_test_id("plan")
    plan.wait_for()
    assert plan.get_attribute("data-pipe") == "P4"
    assert "1 个需关闭的阀门" in page.get_by_test_id("plan-panel").inner_text()
    assert page.get_by_test_id("valves-to-close").inner_text().startswith("VD")
    assert page.get_by_test_id("accounts").inner_text() == "1"
    # The plan is drawn: the segment's pipe in red and the valve to close.
    drawn = page.evaluate(
        "() => { let n = 0; document.getElementById('netmap').leafletMap"
        ".eachLayer(l => { if (l.feature && l.feature.properties.layer === 'valve_close') n++; });"
        " return n; }"
    )
    assert drawn == 1
    page.get_by_test_id("accounts-link").click()
    page.wait_for_url("**/network/plan/accounts/?pipe=P4")
    assert "解放南路12号" in page.get_by_test_id("affected-accounts").inner_text()


def test_dispatcher_finds_an_account_and_sees_its_premise_and_segment(
    page: Any, login: Any, make_user: Any, tmp_path: Any
) -> None:
    from qingquan.customers.tests.factories import account, premise

    import_small(tmp_path)
    near_j4 = premise(longitude=121.5541, latitude=29.8701, room="0401")
    account(premise=near_j4, number="3302880004")
    near_j1 = premise(longitude=121.5511, latitude=29.8701, room="0101")
    account(premise=near_j1, number="3302880001")
    login(make_user(Role.DISPATCHER).username)
    page.goto("/network/")
    page.wait_for_function("() => document.getElementById('netmap').dataset.loaded === '7'")
    search = page.get_by_test_id("network-search")
    search.locator("input[name=q]").fill("3302880004")
    search.locator("button[type=submit]").click()
    page.wait_for_function(
        f"() => document.getElementById('netmap').dataset.found === '{near_j4.pk}'"
    )
    netmap = page.locator("#netmap")
    assert netmap.get_attribute("data-segment") == "1"  # P4, J4's segment
    centre = page.evaluate(
        "() => { const c = document.getElementById('netmap').leafletMap.getCenter();"
        " return [c.lng, c.lat, document.getElementById('netmap').leafletMap.getZoom()]; }"
    )
    assert abs(centre[0] - 121.5541) < 1e-4 and abs(centre[1] - 29.8701) < 1e-4
    assert centre[2] >= 18
    # At that zoom the premises are drawn.
    page.wait_for_function("() => Number(document.getElementById('netmap').dataset.premises) >= 1")
    # An address matching both premises lists them; a click jumps to the one chosen.
    search.locator("input[name=q]").fill("解放南路")
    search.locator("button[type=submit]").click()
    results = page.get_by_test_id("search-results").locator("button")
    results.first.wait_for()
    assert results.count() == 2
    page.get_by_test_id("search-results").get_by_text("0101", exact=False).click()
    page.wait_for_function(
        f"() => document.getElementById('netmap').dataset.found === '{near_j1.pk}'"
    )
    assert netmap.get_attribute("data-segment") == "1"  # P1
