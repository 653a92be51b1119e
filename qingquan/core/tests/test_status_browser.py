"""In headless Chromium, in Chinese and English: a worker silent for over a minute is
shown on the admin home page, the system status page and the supervisors' wallboard.
With QINGQUAN_STATUS_SHOTS=<folder> the pages are saved there (1366×768)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from qingquan.core.tests.test_status import beat
from qingquan.staff.tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _open(browser: Any, live_server: Any, locale: str, username: str) -> Any:
    context = browser.new_context(
        locale=locale, base_url=live_server.url, viewport={"width": 1366, "height": 768}
    )
    context.set_default_timeout(10_000)
    # Pages ignore Accept-Language (Chinese first): the language switch's cookie decides.
    language = "zh-hans" if locale.startswith("zh") else "en"
    context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    page = context.new_page()
    page.goto("/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


def _shot(page: Any, name: str) -> None:
    folder = os.environ.get("QINGQUAN_STATUS_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"))


@pytest.mark.parametrize(
    ("locale", "admin_text", "board_text"),
    [
        ("zh-CN", "后台任务进程超过一分钟没有心跳", "请通知系统管理员"),
        ("en-US", "silent for over a minute", "Tell the administrator"),
    ],
)
def test_silent_worker_on_admin_status_and_wallboard(
    browser: Any, live_server: Any, make_user: Any, locale: str, admin_text: str, board_text: str
) -> None:
    admin = make_user("administrator")
    supervisor = make_user("supervisor")
    beat("alive", 3)
    beat("dead", 400)
    page = _open(browser, live_server, locale, admin.username)
    page.goto("/admin/")
    assert admin_text in page.get_by_test_id("silent-workers").inner_text()
    _shot(page, f"admin-index-{locale}")
    page.get_by_test_id("system-status").get_by_role("link").click()
    page.get_by_test_id("status-page").wait_for()
    assert page.get_by_test_id("worker-row").count() == 2
    assert page.get_by_test_id("worker-silent").count() == 1
    _shot(page, f"admin-status-{locale}")
    page.context.close()

    page = _open(browser, live_server, locale, supervisor.username)
    page.goto("/console/wallboard/")
    assert board_text in page.get_by_test_id("silent-workers").inner_text()
    _shot(page, f"wallboard-{locale}")
    page.context.close()
