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
