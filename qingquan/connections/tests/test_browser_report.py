"""In headless Chromium: the connections report's drill-down. A customer manager opens
the statistics page, follows a month × policy figure to the applications behind it (their
own only, the others counted apart) and on to one application; a supervisor follows the
"late" figure of the connections report to the late application."""

from __future__ import annotations

from typing import Any

import pytest
import time_machine

from .test_rollup import month_of_data

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_drill_down_from_the_statistics_to_the_applications(
    page: Any, login: Any, people: Any, apply: Any
) -> None:
    travellers: list[Any] = []

    def at(moment: Any) -> Any:
        while travellers:
            travellers.pop().stop()
        traveller = time_machine.travel(moment, tick=False)
        traveller.start()
        travellers.append(traveller)
        return moment

    made = month_of_data(at, apply, people)
    while travellers:
        travellers.pop().stop()
    page.set_default_timeout(60_000)
    login(people["manager"].username)
    page.goto("/reports/?period=month&date=2026-03-01")
    row = page.locator("[data-testid=connections-row][data-month='2026-03'][data-policy='221']")
    row.locator("a[data-metric=conn_applications]").click()
    page.wait_for_url("**/connections/report/drill/**")
    assert page.get_by_test_id("drill-count").inner_text() == "2"
    assert page.get_by_test_id("drill-hidden").is_visible()  # manager2's application
    rows = page.get_by_test_id("drill-rows").inner_text()
    assert made[0].number in rows and made[1].number in rows and made[2].number not in rows
    page.locator(f"[data-testid=drill-rows] a:text('{made[0].number}')").click()
    page.wait_for_url(f"**/connections/{made[0].number}/")

    page.context.clear_cookies(name="sessionid")
    login(people["supervisor"].username)
    page.goto("/connections/report/?month=2026-03")
    page.locator("[data-policy='221'] a[data-metric=late]").click()
    page.wait_for_url("**metric=late**")
    assert page.get_by_test_id("drill-count").inner_text() == "1"
    assert made[2].number in page.get_by_test_id("drill-rows").inner_text()
