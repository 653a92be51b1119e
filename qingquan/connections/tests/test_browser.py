"""In headless Chromium: an applicant applies in the online hall with one document, the
customer manager accepts and names the engineer, the engineer quotes after the survey,
the applicant accepts the contract and pays by QR in the sandbox (the clock resumes),
the engineer turns the water on, and the manager's portfolio shows it finished."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from qingquan.connections.models import Application, AppState
from qingquan.portal.tests.conftest import PHONE, last_code

from .conftest import PDF, a_uscc

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/work/coord/shots/h20")


def shot(page: Any, name: str) -> None:
    if SHOTS.parent.exists():
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def relogin(page: Any, login: Any, user: Any) -> None:
    """Log in as another staff member (the online hall's own cookie stays)."""
    page.context.clear_cookies(name="sessionid")
    login(user.username)


def portal_login(page: Any) -> None:
    page.goto("/portal/login/")
    page.fill("input[name=phone]", PHONE)
    page.get_by_test_id("send-code").click()
    page.get_by_test_id("verify").wait_for()
    page.fill("input[name=code]", last_code())
    page.get_by_test_id("verify").click()
    page.wait_for_url("**/portal/")


def test_portal_application_to_water_on_with_the_managers_screens(
    page: Any, login: Any, people: Any, live_server: Any
) -> None:
    page.set_default_timeout(90_000)  # a loaded test machine
    portal_login(page)
    page.get_by_test_id("connections-link").click()
    page.get_by_test_id("apply").click()
    form = page.get_by_test_id("connection-form")
    form.locator("select[name=applicant_kind]").select_option("enterprise")
    page.fill("input[name=applicant_name]", "宁波清泉茶饮有限公司")
    form.locator("select[name=document_kind]").select_option("licence")
    page.fill("input[name=document_number]", a_uscc())
    page.fill("input[name=address]", "宁波市海曙区药行街88号")
    form.locator("select[name=use]").select_option("business")
    page.fill("input[name=m3_per_day]", "6")
    page.fill("input[name=pipe_mm]", "25")
    page.set_input_files(
        "input[name=document]",
        files=[{"name": "licence.pdf", "mimeType": "application/pdf", "buffer": PDF}],
    )
    shot(page, "portal-apply-zh")
    with page.expect_response(lambda r: r.request.method == "POST", timeout=180_000) as posted:
        form.locator("button[type=submit]").click()
    assert posted.value.status == 302, (posted.value.status, posted.value.text()[:3000])
    page.wait_for_url("**/portal/connections/BZ*/")
    assert "/portal/connections/BZ" in page.url, page.locator("[role=alert]").all_inner_texts()
    app = Application.objects.get()
    assert page.get_by_test_id("connection-number").inner_text() == app.number
    assert "等待我们办理" in page.get_by_test_id("waiting").inner_text()
    shot(page, "portal-follow-zh")

    relogin(page, login, people["manager"])
    page.goto("/connections/")
    page.locator(f"[data-testid=portfolio] a:text('{app.number}')").click()
    shot(page, "detail-zh")
    page.get_by_test_id("step-form").locator("select[name=engineer]").select_option(
        str(people["engineer"].pk)
    )
    page.get_by_test_id("step-form").locator("button[type=submit]").click()
    page.wait_for_load_state()

    relogin(page, login, people["engineer"])
    page.goto(f"/connections/{app.number}/")
    page.locator("[data-testid=quote-form] input[data-code=meter-dn20]").fill("1")
    page.locator("[data-testid=quote-form] input[data-code=pipe-dn25]").fill("4")
    page.get_by_test_id("quote-form").locator("button[type=submit]").click()
    page.get_by_test_id("quote-total").wait_for()
    assert page.get_by_test_id("quote-total").inner_text() == "760.00"

    page.goto(f"/portal/connections/{app.number}/")
    assert "等待您办理" in page.get_by_test_id("waiting").inner_text()
    page.fill("input[name=signer]", "张总")
    page.get_by_test_id("sign-form").locator("button[type=submit]").click()
    page.wait_for_url("**/payments/sandbox/**")
    page.get_by_test_id("sandbox-pay").click()
    page.wait_for_url(f"**/portal/connections/{app.number}/")
    page.get_by_test_id("paid").wait_for()
    assert "等待我们办理" in page.get_by_test_id("waiting").inner_text()

    page.goto(f"/connections/{app.number}/")
    page.get_by_test_id("step-form").locator("button[type=submit]").click()
    page.wait_for_load_state()
    app.refresh_from_db()
    assert app.state == AppState.WATER_ON
    shot(page, "detail-water-on-zh")

    relogin(page, login, people["manager"])
    page.goto("/connections/")
    assert app.number in page.get_by_test_id("finished").inner_text()
    assert app.number in page.get_by_test_id("calls").inner_text()
    shot(page, "portfolio-zh")
    page.goto(f"/portal/connections/{app.number}/")
    assert page.get_by_test_id("connection-state").inner_text() == "开栓通水"
    shot(page, "portal-water-on-zh")
    # The same screens in English.
    page.context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])
    page.goto(f"/portal/connections/{app.number}/")
    assert page.get_by_test_id("connection-state").inner_text() == "Water on"
    shot(page, "portal-water-on-en")
    page.goto("/portal/connections/new/")
    shot(page, "portal-apply-en")
    for path, name in [
        ("/connections/", "portfolio-en"),
        (f"/connections/{app.number}/", "detail-en"),
        ("/connections/new/", "new-en"),
    ]:
        page.goto(path)
        shot(page, name)
    relogin(page, login, people["supervisor"])
    page.goto("/connections/report/")
    assert app.number not in page.content()
    shot(page, "report-en")
