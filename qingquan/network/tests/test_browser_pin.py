"""In headless Chromium (Chinese UI): an agent opens a burst report on the plain staff
form /cases/new/, picks the repair kind, sees the network's pipes as a small map, clicks
on pipe P2 to drop the pin and sends the form; the case page shows the case placed on
P2. Another kind hides the map and sends no pin. With QINGQUAN_SCREENSHOTS=1 the form
with its pin is saved to docs/screenshots/ in Chinese and English."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from qingquan.network.tests.helpers import import_small

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"
ON_P2 = (121.5515, 29.87002)


def _click_at(page: Any, lon: float, lat: float) -> None:
    """Click the pin map at a longitude and latitude (through Leaflet's projection)."""
    page.get_by_test_id("pin-map").scroll_into_view_if_needed()
    point = page.evaluate(
        """([lon, lat]) => {
            const el = document.querySelector('[data-testid=pin-map]');
            const p = el.leafletMap.latLngToContainerPoint([lat, lon]);
            const r = el.getBoundingClientRect();
            return [r.left + p.x, r.top + p.y];
        }""",
        [lon, lat],
    )
    page.mouse.click(point[0], point[1])


def _open_form(page: Any) -> None:
    page.goto("/cases/new/")
    page.locator("select[name=kind]").select_option("repair-burst")
    page.get_by_test_id("pin-map").wait_for()
    page.wait_for_function(
        "() => document.querySelector('[data-testid=pin-map]').dataset.loaded === '7'"
    )


def _shots(browser: Any, live_server: Any, agent: Any) -> None:
    from qingquan.staff.tests.factories import PASSWORD

    if os.environ.get("QINGQUAN_SCREENSHOTS") != "1":
        return
    SHOTS.mkdir(parents=True, exist_ok=True)
    for locale, lang in (("zh-CN", "zh-hans"), ("en-US", "en")):
        context = browser.new_context(
            locale=locale, base_url=live_server.url, viewport={"width": 1366, "height": 900}
        )
        context.add_cookies([{"name": "django_language", "value": lang, "url": live_server.url}])
        context.set_default_timeout(60_000)
        page = context.new_page()
        page.goto("/login/")
        page.fill("input[name=username]", agent.username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        _open_form(page)
        page.fill("input[name=subject]", "解放南路路面冒水")
        _click_at(page, *ON_P2)
        page.screenshot(path=str(SHOTS / f"network-case-pin.{lang}.png"), full_page=True)
        context.close()


def test_agent_drops_a_pin_on_the_new_case_form(
    page: Any, browser: Any, live_server: Any, login: Any, agent: Any, tmp_path: Any
) -> None:
    from qingquan.network.models import CaseLocation, LocationSource
    from qingquan.tickets.models import Ticket

    import_small(tmp_path)
    login(agent.username)
    page.goto("/cases/new/")
    assert page.get_by_test_id("case-pin").is_hidden()  # no kind chosen yet
    _open_form(page)
    page.fill("input[name=subject]", "解放南路路面冒水")
    _click_at(page, *ON_P2)
    lon = float(page.get_by_test_id("pin-lon").input_value())
    lat = float(page.get_by_test_id("pin-lat").input_value())
    assert abs(lon - ON_P2[0]) < 2e-5 and abs(lat - ON_P2[1]) < 2e-5
    assert "标点位于" in page.get_by_test_id("pin-text").inner_text()
    page.locator("[data-testid=new-case] button[type=submit]").click()
    page.wait_for_url("**/cases/*/")
    ticket = Ticket.objects.get()
    location = CaseLocation.objects.get(ticket=ticket)
    assert location.source == LocationSource.PIN and location.pipe is not None
    assert location.pipe.eid == "P2" and (location.distance_m or 0) < 5
    assert "P2" in page.get_by_test_id("case-pipe").inner_text()

    # A consultation: the map is hidden and no pin is sent even after one was dropped.
    _open_form(page)
    _click_at(page, *ON_P2)
    page.get_by_test_id("pin-clear").click()
    assert page.get_by_test_id("pin-lon").input_value() == ""
    _click_at(page, *ON_P2)
    page.locator("select[name=kind]").select_option("consultation")
    assert page.get_by_test_id("case-pin").is_hidden()
    page.fill("input[name=subject]", "咨询水价")
    page.locator("[data-testid=new-case] button[type=submit]").click()
    page.wait_for_url("**/cases/*/")
    assert Ticket.objects.count() == 2 and CaseLocation.objects.count() == 1
    _shots(browser, live_server, agent)
