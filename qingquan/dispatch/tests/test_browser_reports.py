"""In headless Chromium (#17 items 7, 8): a supervisor opens the statistics for December,
breaks the repairs down by crew, follows the late-arrival figure of one crew to the job
behind it, and sees the referrals by partner; in Chinese and in English."""

from __future__ import annotations

from typing import Any

import pytest

from qingquan.staff.tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = "/work/coord/shots/h17"


@pytest.mark.parametrize("locale", ["zh", "en"])
def test_supervisor_reads_repair_statistics_and_drills_down(
    browser: Any,
    live_server: Any,
    people: Any,
    crews: Any,
    month: Any,
    locale: str,
) -> None:
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1366, "height": 900})
    if locale == "en":
        context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        page.goto("/login/")
        page.fill("input[name=username]", people["supervisor"].username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        page.goto("/reports/?period=month&date=2026-12-01")
        section = page.get_by_test_id("repairs")
        assert "50.00%" in section.locator('[data-figure="arrive_rate"]').inner_text()
        with page.expect_navigation():
            section.locator("select[name=rby]").select_option("crew")
        rows = page.get_by_test_id("repair-row")
        assert rows.count() == 2
        row = f'[data-testid="repair-row"][data-key="{crews["jiangbei"].pk}"]'
        late = page.locator(f'{row} a[data-metric="arrive_late"]')
        page.get_by_test_id("repairs").screenshot(path=f"{SHOTS}/reports-repairs-{locale}.png")
        late.click()
        page.wait_for_load_state()
        assert page.get_by_test_id("drill-count").inner_text() == "1"
        assert month["b"].number in page.get_by_test_id("drill-rows").inner_text()
        page.screenshot(path=f"{SHOTS}/reports-repairs-drill-{locale}.png", full_page=True)
        page.go_back()
        page.wait_for_load_state()
        assert "甬城测漏" in page.get_by_test_id("referrals").inner_text()
    finally:
        context.close()
