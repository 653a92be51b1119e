"""In headless Chromium with the Content-Security-Policy enforced (#13 item 6): the pages
that run scripts — language switch, console, wallboard, live search, the statistics
chart, the Swagger UI and the admin — work, and the browser blocks nothing on them."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _watch(page: Any) -> list[str]:
    """Collect what the browser blocked or failed to run."""
    blocked: list[str] = []
    page.on(
        "console",
        lambda msg: (
            blocked.append(msg.text)
            if "Content Security Policy" in msg.text or "Refused to" in msg.text
            else None
        ),
    )
    page.on("pageerror", lambda error: blocked.append(f"script error: {error}"))
    return blocked


def test_supervisor_pages_run_under_the_policy(page: Any, login: Any, supervisor: Any) -> None:
    blocked = _watch(page)
    login(supervisor.username)

    # The language switch sends its form on change (an event listener, not onchange=).
    with page.expect_navigation():
        page.select_option("select[name=language]", "en")
    assert page.locator("html").get_attribute("lang") == "en"
    with page.expect_navigation():
        page.select_option("select[name=language]", "zh-hans")
    assert page.locator("html").get_attribute("lang") == "zh-hans"

    # htmx: the wallboard and console poll; the knowledge search runs as one types.
    page.goto("/console/wallboard/")
    page.wait_for_event(
        "response", lambda r: "wallboard" in r.url and r.request.headers.get("hx-request")
    )
    page.goto("/knowledge/")
    with page.expect_response(lambda r: "/knowledge/" in r.url and "q=" in r.url):
        page.fill("#kb-q", "水费")
        page.press("#kb-q", "End")  # the search follows keyup

    # ECharts draws the statistics chart from its JSON data block.
    page.goto("/reports/")
    page.wait_for_selector("[data-testid=chart] canvas")

    # The staff API's offline Swagger UI renders.
    page.goto("/api/v1/docs")
    # The schema is built at its first request in a process (seconds on a slow machine
    # with the suite running beside it; cached after): this test is about the policy.
    page.wait_for_selector(".swagger-ui .info .title", timeout=45_000)

    page.goto("/console/")
    page.wait_for_timeout(500)
    assert blocked == []


def test_administrator_admin_runs_under_the_policy(
    page: Any, login: Any, administrator: Any
) -> None:
    blocked = _watch(page)
    login(administrator.username)
    page.goto("/admin/")
    page.goto("/admin/staff/user/")
    # The admin's own scripts (actions bar, filters) are static files: select-all works.
    page.check("#action-toggle")
    assert page.locator("input.action-select").first.is_checked()
    page.goto("/audit/")
    assert blocked == []
