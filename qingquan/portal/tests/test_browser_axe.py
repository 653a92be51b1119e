"""Accessibility (issue 19 item 10): axe-core, run from Playwright in Chromium, finds no
serious or critical violation on any page of the online hall, on a phone (375 × 812) and
on a desktop, in the standard and the elder-friendly mode, in Chinese and English.

axe-core is the `axe.min.js` shipped inside the `axe-playwright-python` package (a dev
dependency): nothing is fetched at run time."""

from __future__ import annotations

from typing import Any

import pytest

from qingquan.core import clock
from qingquan.portal import rules, services
from qingquan.portal.models import Resident
from qingquan.portal.tests.conftest import PHONE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BAD = {"serious", "critical"}


def axe_violations(page: Any) -> list[dict[str, Any]]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"]][:5],
        }
        for v in results.response["violations"]
        if v.get("impact") in BAD
    ]


def pages(billed_account: Any) -> list[str]:
    from qingquan.tickets.models import CaseKind

    resident = Resident.objects.get()
    services.account_bind(resident=resident, number=billed_account.number, name="周美华")
    ticket = services.case_open(
        resident=resident,
        report=services.Report(
            kind=CaseKind.objects.filter(is_active=True).order_by("pk").first(),
            subject="水压低",
            address="药行街20号",
        ),
    )
    bill = billed_account.bills.order_by("pk").first()
    assert bill is not None
    return [
        "/portal/",
        "/portal/accounts/add/",
        f"/portal/accounts/{billed_account.pk}/",
        "/portal/cases/",
        f"/portal/cases/{ticket.number}/",
        "/portal/repair/",
        "/portal/question/",
        "/portal/assist/",
        f"/portal/pay/wechat/?bill={bill.pk}",  # outside WeChat: the hint
    ]


@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_no_serious_accessibility_violation_on_any_portal_page(
    page: Any, live_server: Any, billed_account: Any, supervisor: Any, lang: str
) -> None:
    # Not vacuous: the same check finds a picture without a text alternative.
    page.set_content('<html lang="en"><title>t</title><main><img src="x.png"></main></html>')
    assert [v["id"] for v in axe_violations(page)] == ["image-alt"]
    resident = Resident.objects.create(phone=f"+86{PHONE}", created_at=clock.now())
    key = services.session_start(resident=resident)
    urls = pages(billed_account)
    cookies = [{"name": "django_language", "value": lang, "url": live_server.url}]
    found: dict[str, Any] = {}
    for elder in ("0", "1"):
        page.context.clear_cookies()
        page.context.add_cookies(
            [*cookies, {"name": "qq_elder", "value": elder, "url": live_server.url}]
        )
        # Logged out: the login page and the demo SMS inbox.
        for url in ["/portal/login/", f"/portal/demo-sms/?phone={PHONE}"]:
            for width, height in [(375, 812), (1280, 800)]:
                page.set_viewport_size({"width": width, "height": height})
                page.goto(url)
                if bad := axe_violations(page):
                    found[f"{url} elder={elder} {width}px"] = bad
        page.context.add_cookies(
            [{"name": rules.COOKIE, "value": key, "url": f"{live_server.url}/portal/"}]
        )
        services.elder_mode_set(resident=resident, on=elder == "1")
        for url in urls:
            for width, height in [(375, 812), (1280, 800)]:
                page.set_viewport_size({"width": width, "height": height})
                page.goto(url)
                assert page.get_by_test_id("portal").count() == 1, url
                if bad := axe_violations(page):
                    found[f"{url} elder={elder} {width}px"] = bad
    assert found == {}
