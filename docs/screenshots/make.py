"""Take screenshots of the main pages of a running demo, for each role, in both languages
and at two screen sizes, with Debian's Chromium driven by Playwright.

    QINGQUAN_DATA_DIR=/tmp/demo .venv/bin/qingquan serve --port 8143 &
    .venv/bin/python docs/screenshots/make.py --base http://127.0.0.1:8143 --out /tmp/shots
    .venv/bin/python docs/screenshots/make.py --base http://127.0.0.1:8143 --refresh

`--out` writes every page × language × size (to look at before a release); `--refresh`
writes the 1366 × 768 Chinese and English shots of the pages listed in REFRESH into this
folder. Not part of the test suite (it needs a running demo).
"""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path

from playwright.sync_api import sync_playwright

HERE = Path(__file__).resolve().parent
PASSWORD = os.environ.get("QINGQUAN_DEMO_PASSWORD", "qingquan96390")
SIZES = {"1366": (1366, 768), "1920": (1920, 1080)}
LANGUAGES = ("zh-hans", "en")

# (login, page name, path); "{case}" is a case the login may act on (found on /cases/).
PAGES: list[tuple[str, str, str]] = [
    ("agent", "home-agent", "/"),
    ("agent", "console", "/console/"),
    ("agent", "my-cases", "/cases/"),
    ("agent", "new-case", "/cases/new/"),
    ("agent", "case-page-agent", "{case}"),
    ("agent", "knowledge", "/knowledge/?q=水管爆了"),
    ("agent", "customers", "/customers/?q=13800138000"),
    ("supervisor", "home-supervisor", "/"),
    ("supervisor", "case-page-supervisor", "{case}"),
    ("supervisor", "wallboard", "/console/wallboard/"),
    ("supervisor", "statistics", "/reports/"),
    ("supervisor", "callbacks", "/callbacks/"),
    ("supervisor", "roster", "/roster/"),
    ("dispatcher", "home-dispatcher", "/"),
    ("dispatcher", "dispatcher-queue", "/cases/"),
    ("dispatcher", "case-page-dispatcher", "{case}"),
    ("dispatcher", "network-map", "/network/"),
    ("dispatcher", "network-plan", "/network/"),  # "-plan": a pipe clicked (show_plan)
    ("dispatcher", "network-hydraulic", "/network/"),  # and its simulation run to the end
    ("dispatcher", "network-search", "/network/"),  # an address searched for, zoomed in
    ("crew", "crew-queue", "/cases/"),
    ("crew", "case-page-crew", "{case}"),
    ("crew", "case-action-form-crew", "{case}"),  # "-form": its first step's form opened
    ("admin", "home-admin", "/"),
    ("admin", "audit-log", "/audit/"),
    ("admin", "admin-home", "/admin/"),
    ("admin", "admin-task-results", "/admin/django_tasks_database/dbtaskresult/"),
    ("admin", "api-docs", "/api/v1/docs"),
    ("supervisor", "ivr-flows", "/telephony/flows/"),
    ("supervisor", "notices-list", "/notices/"),
    ("agent", "public-notices", "/public/notices/"),
    ("dispatcher", "dispatch-board-demo", "/dispatch/"),
]

# The pages this change touched: kept in docs/screenshots/ as <name>.<lang>.png.
REFRESH = {
    "ivr-flows",
    "notices-list",
    "public-notices",
    "dispatch-board-demo",
    "home-supervisor",
    "home-dispatcher",
    "home-admin",
}


def a_case(page: object, base: str) -> str:
    """A case of the login's lists (first of the queue or of the owned cases)."""
    page.goto(f"{base}/cases/")  # type: ignore[attr-defined]
    link = page.locator(  # type: ignore[attr-defined]
        "[data-testid=queue] td a, [data-testid=owned] td a, [data-testid=overdue] td a"
    ).first
    href = link.get_attribute("href") if link.count() else None
    return href or "/cases/"


def show_plan(page: object, *, clicked: bool) -> None:
    """Wait for the network map's layers; with `clicked`, click a pipe near the demo
    household (解放南路88号) and wait for its isolation plan."""
    page.wait_for_function(  # type: ignore[attr-defined]
        "() => document.getElementById('netmap').dataset.loaded"
    )
    if not clicked:
        return
    x, y = page.evaluate(  # type: ignore[attr-defined]
        "() => { const p = document.getElementById('netmap').leafletMap"
        ".latLngToContainerPoint([29.8642, 121.5497]); return [p.x, p.y]; }"
    )
    page.get_by_test_id("network-map").click(position={"x": x, "y": y})  # type: ignore[attr-defined]
    page.wait_for_function(  # type: ignore[attr-defined]
        "() => { const d = document.getElementById('netmap').dataset.plan;"
        " return d && d !== 'loading'; }"
    )
    page.get_by_test_id("plan").wait_for()  # type: ignore[attr-defined]
    page.wait_for_timeout(300)  # type: ignore[attr-defined]


def simulate(page: object) -> None:
    """Start the shown plan's hydraulic simulation and wait (up to 3 minutes: Net6 takes
    about 15 s per steady state) until the low-pressure area is drawn."""
    page.get_by_test_id("hydraulic").wait_for(timeout=10_000)  # type: ignore[attr-defined]
    start = page.get_by_test_id("hydraulic-start")  # type: ignore[attr-defined]
    if start.count():  # else it ran already (the other language's shot asked for it)
        start.click()
    page.wait_for_selector(  # type: ignore[attr-defined]
        "#hydraulic[data-status=done], #hydraulic[data-status=failed]", timeout=180_000
    )
    page.locator("#hydraulic").scroll_into_view_if_needed()  # type: ignore[attr-defined]
    page.wait_for_timeout(1500)  # type: ignore[attr-defined]


def search(page: object, text: str) -> None:
    """Search the map for `text` and jump to the first premise found."""
    form = page.get_by_test_id("network-search")  # type: ignore[attr-defined]
    form.locator("input[name=q]").fill(text)
    form.locator("button[type=submit]").click()
    page.wait_for_timeout(1000)  # type: ignore[attr-defined]
    found = page.get_by_test_id("search-results").locator("button")  # type: ignore[attr-defined]
    if found.count():
        found.first.click()
    page.wait_for_function(  # type: ignore[attr-defined]
        "() => document.getElementById('netmap').dataset.found", timeout=10_000
    )
    page.wait_for_timeout(1500)  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="http://127.0.0.1:8143")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--refresh", action="store_true")
    parser.add_argument("--only", default="", help="regular expression on page names")
    args = parser.parse_args()
    chromium = os.environ.get("QINGQUAN_CHROMIUM", "/usr/bin/chromium")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        for login in dict.fromkeys(user for user, _name, _path in PAGES):
            for language in LANGUAGES:
                sizes = SIZES if args.out else {"1366": SIZES["1366"]}
                for size, (width, height) in sizes.items():
                    context = browser.new_context(
                        viewport={"width": width, "height": height}, locale="zh-CN"
                    )
                    context.add_cookies(
                        [{"name": "django_language", "value": language, "url": args.base}]
                    )
                    page = context.new_page()
                    page.goto(f"{args.base}/login/")
                    page.fill("input[name=username]", login)
                    page.fill("input[name=password]", PASSWORD)
                    page.click("button[type=submit]")
                    page.wait_for_load_state()
                    case = a_case(page, args.base)
                    for user, name, path in PAGES:
                        if user != login or not re.search(args.only, name):
                            continue
                        page.goto(args.base + path.replace("{case}", case))
                        page.wait_for_load_state("networkidle")
                        if "-form" in name and page.locator("details.act summary").count():
                            page.locator("details.act summary").first.click()
                        if name.startswith("network-"):
                            show_plan(page, clicked=name.endswith(("-plan", "-hydraulic")))
                        if name == "network-hydraulic":
                            simulate(page)
                        if name == "network-search":
                            search(page, "解放南路88号")
                        if args.out:
                            args.out.mkdir(parents=True, exist_ok=True)
                            page.screenshot(path=str(args.out / f"{name}.{language}.{size}.png"))
                        if args.refresh and name in REFRESH and size == "1366":
                            page.screenshot(path=str(HERE / f"{name}.{language}.png"))
                    context.close()
        browser.close()


if __name__ == "__main__":
    main()
