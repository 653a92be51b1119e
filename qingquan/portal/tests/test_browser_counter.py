"""In headless Chromium (Chinese UI, a tablet-sized screen): staff at a government service
centre take a walk-in customer's case, the customer signs on the canvas, and the case is
opened with the signature stored as a PNG; the counts by location show it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from qingquan.portal.models import CounterCase, LocationKind, ServiceLocation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(os.environ.get("QINGQUAN_SHOTS_DIR", "/nonexistent"))


def test_a_walk_in_case_signed_on_the_tablet(
    page: Any, login: Any, agent: Any, supervisor: Any
) -> None:
    from qingquan.tickets.kinds_seed import seed
    from qingquan.tickets.models import CaseKind, SlaPolicy

    seed(SlaPolicy, CaseKind)  # a transactional test starts without the seeded kinds
    centre = ServiceLocation.objects.create(
        name="市行政服务中心水务窗口", kind=LocationKind.GOV_CENTRE, address="宁穿路1901号"
    )
    page.context.set_default_timeout(30_000)  # a loaded test machine is slow to answer
    login(agent.username)
    page.set_viewport_size({"width": 1024, "height": 1366})
    page.click("details.navgroup:has(a[href='/counter/']) > summary")
    page.locator('nav a[href="/counter/"]').click()
    page.wait_for_url("**/counter/")
    page.select_option("select[name=location]", str(centre.pk))
    page.select_option("select[name=kind]", "connection-residential")
    page.fill("input[name=subject]", "办理居民新装")
    page.fill("input[name=caller_name]", "王建国")
    page.fill("input[name=caller_phone]", "13811112222")
    page.check("input[name=needs_signature]")
    pad = page.get_by_test_id("signature-pad")
    box = pad.bounding_box()
    page.mouse.move(box["x"] + 30, box["y"] + 60)
    page.mouse.down()
    for step in range(1, 12):
        page.mouse.move(box["x"] + 30 + step * 25, box["y"] + 60 + (step % 3) * 15)
    page.mouse.up()
    if SHOTS.is_dir():
        page.screenshot(path=str(SHOTS / "counter-zh.png"), full_page=True)
    page.get_by_test_id("counter-submit").click()
    page.wait_for_url("**/cases/**")
    row = CounterCase.objects.get()
    assert row.location == centre and row.ticket.channel == "counter"
    data = row.signature.read()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 500

    page.context.clear_cookies()  # a signed-in user is sent on from the login page
    login(supervisor.username)
    page.goto("/counter/by-location/")
    assert "市行政服务中心水务窗口" in page.get_by_test_id("counter-by-location").inner_text()
    assert page.get_by_test_id("counter-total").inner_text() == "1"
    if SHOTS.is_dir():
        page.screenshot(path=str(SHOTS / "counter-by-location-zh.png"), full_page=True)
