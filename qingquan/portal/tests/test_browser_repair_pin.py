"""In headless Chromium on a phone (375 × 812): a resident reports a burst with a map pin
beside the address: the map (the shared pin map, showing the service area's outline and
no pipes, no internet tiles) takes a tap, the browser's position can set the pin too,
a pin outside the service area is refused with a clear message, and the report with a
pin inside becomes a case placed at the pin. axe finds no serious violation."""

from __future__ import annotations

from typing import Any

import pytest

from qingquan.core import clock
from qingquan.network.models import CaseLocation, LocationSource
from qingquan.portal import rules, services
from qingquan.portal.models import Resident
from qingquan.portal.tests.conftest import PHONE
from qingquan.portal.tests.test_browser_axe import axe_violations
from qingquan.tickets.models import Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _tap_at(page: Any, lon: float, lat: float) -> None:
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


@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_a_repair_report_with_a_map_pin_on_a_phone(
    browser: Any, live_server: Any, supervisor: Any, lang: str
) -> None:
    resident = Resident.objects.create(phone=f"+86{PHONE}", created_at=clock.now())
    context = browser.new_context(
        locale="zh-CN",
        base_url=live_server.url,
        viewport={"width": 375, "height": 812},
        geolocation={"latitude": 29.8705, "longitude": 121.5520},
        permissions=["geolocation"],
    )
    context.set_default_timeout(15_000)
    context.add_cookies(
        [
            {"name": "django_language", "value": lang, "url": live_server.url},
            {
                "name": rules.COOKIE,
                "value": services.session_start(resident=resident),
                "url": f"{live_server.url}/portal/",
            },
        ]
    )
    page = context.new_page()
    page.goto("/portal/repair/")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=pin-map]').dataset.loaded === 'area'"
    )
    assert page.get_by_test_id("repair-pin").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert axe_violations(page) == []
    page.locator("select[name=kind]").select_option("repair-burst")
    # The browser's position sets the pin, and the map follows.
    page.locator("#pin-here").click()
    page.wait_for_function(
        "() => document.querySelector('[data-testid=pin-map]').dataset.pin"
        " === '121.552000,29.870500'"
    )
    # A pin outside the service area (set by hand in the hidden fields): refused.
    page.evaluate(
        """() => {
            document.querySelector('input[name=longitude]').value = '116.400000';
            document.querySelector('input[name=latitude]').value = '39.900000';
        }"""
    )
    page.locator("[data-testid=repair-form] button[type=submit]").click()
    page.wait_for_load_state()
    error = page.locator(".messages .error").inner_text()
    assert ("超出" in error) if lang == "zh-hans" else ("outside our service area" in error)
    assert not Ticket.objects.exists()
    # A tap on the map inside the area: the pin is there, and the report is a case.
    page.goto("/portal/repair/")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=pin-map]').dataset.loaded === 'area'"
    )
    page.locator("select[name=kind]").select_option("repair-burst")
    page.evaluate(
        "document.querySelector('[data-testid=pin-map]').leafletMap"
        ".setView([29.86, 121.54], 15, { animate: false })"
    )
    _tap_at(page, 121.5400, 29.8600)
    lon = float(page.get_by_test_id("pin-lon").input_value())
    lat = float(page.get_by_test_id("pin-lat").input_value())
    assert abs(lon - 121.54) < 0.001 and abs(lat - 29.86) < 0.001
    assert "121." in page.get_by_test_id("pin-text").inner_text()
    page.fill("textarea[name=description]", "路口地面冒水")
    page.locator("[data-testid=repair-form] button[type=submit]").click()
    page.wait_for_url("**/portal/cases/**")
    ticket = Ticket.objects.get()
    location = CaseLocation.objects.get(ticket=ticket)
    assert location.source == LocationSource.PIN
    assert (round(location.longitude, 6), round(location.latitude, 6)) == (lon, lat)
    context.close()
